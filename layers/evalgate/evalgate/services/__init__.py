"""Use cases. Services take a Principal and domain values, and return domain models."""
