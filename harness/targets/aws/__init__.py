"""The real-AWS target (see ``harness.targets.aws.target``)."""
