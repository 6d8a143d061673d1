"""`make serve`: the whole API on http://127.0.0.1:$PORT/api (4200 by default).

DynamoDB is moto's in-memory one unless AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL)
names another; either way, missing tables are created from `template.yaml`.
"""

import os
from contextlib import ExitStack

import uvicorn

# Every local setting needs a region and credentials, even when they are dummies.
for variable, value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}.items():
    os.environ.setdefault(variable, value)


def main() -> None:
    port = int(os.environ.get("PORT") or 4200)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    with ExitStack() as stack:
        if endpoint is None:
            from moto import mock_aws

            stack.enter_context(mock_aws())
        from local.app import app
        from local.tables import create_tables
        from storage.dynamodb import dynamodb_client

        create_tables(dynamodb_client())
        database = endpoint or "an in-memory DynamoDB (moto); states last until it stops"
        print(f"DynamoDB: {database}")
        print(f"PREFECT_API_URL=http://127.0.0.1:{port}/api")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
