"""The document-processing pipeline's domain code, shared by its Lambda handlers."""
