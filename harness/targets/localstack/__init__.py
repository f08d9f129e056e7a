"""The LocalStack target (host mode without Docker, or its container); see target.py."""
