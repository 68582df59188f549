"""The store: the only code that touches DynamoDB and S3. Returns domain models, never raw items."""
