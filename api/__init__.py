"""The HTTP layer shared by every Lambda function: schemas, the app factory and the routes."""
