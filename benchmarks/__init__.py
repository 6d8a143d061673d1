"""`make bench`: what each Lambda function costs, cold and warm, and what it asks of DynamoDB."""
