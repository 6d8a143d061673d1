"""`make serve`: the whole API on http://127.0.0.1:$PORT/api (4200 by default).

DynamoDB is moto's in-memory one unless AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL)
names another; either way, missing tables are created from `template.yaml`.
"""

import os

import uvicorn

from local.database import local_dynamodb


def main() -> None:
    port = int(os.environ.get("PORT") or 4200)
    with local_dynamodb() as endpoint:
        from local.app import local_app

        app = local_app()

        database = endpoint or "an in-memory DynamoDB (moto); states last until it stops"
        print(f"DynamoDB: {database}")
        print(f"PREFECT_API_URL=http://127.0.0.1:{port}/api")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
