"""What a scenario would cost on AWS, from the calls and invocations it made (``prices.json``)."""
