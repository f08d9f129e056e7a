"""Least privilege from what the app did: every AWS call observed with its caller's role, what it
needs from IAM, IAM's decision under the policies as deployed, and the report's IAM section."""
