"""Where states are kept: a small repository interface and its DynamoDB implementation."""
