"""`make serve`: the whole API on http://127.0.0.1:$PORT/api (4200 by default).

DynamoDB is AWS's DynamoDB Local on a free loopback port, its tables kept in `.dynamodb/`
in the checkout (DYNAMODB_LOCAL_DIR names another folder; DYNAMODB_LOCAL_IN_MEMORY=1 keeps
them in memory), or moto's in memory where Java is missing. AWS_ENDPOINT_URL_DYNAMODB (or
AWS_ENDPOINT_URL) names another DynamoDB instead. Missing tables are created from
`template.yaml`. One line per request on stderr; Ctrl-C or SIGTERM stops it, and
DynamoDB Local with it.
"""

import os
import signal
import sys
from types import FrameType

import uvicorn

from api.settings import DYNAMODB_ENDPOINT_VARIABLE, Settings
from local.database import local_dynamodb


def _exit_on(signal_number: int, frame: FrameType | None) -> None:
    """uvicorn raises the SIGTERM it caught again once it has stopped: leave through the
    `with` blocks, which stop DynamoDB Local, rather than die in place."""
    raise SystemExit(128 + signal_number)


def main() -> None:
    port = int(os.environ.get("PORT") or 4200)
    settings = Settings.from_environment()  # once: the tables made are the ones served
    signal.signal(signal.SIGTERM, _exit_on)
    try:
        with local_dynamodb(settings, dynamodb_local=True) as database:
            from api.request_log import log_for_a_console
            from local.app import local_app

            app = local_app(settings)

            log_for_a_console()
            print(f"Database: {database.description}")
            if database.endpoint is not None:
                print(f"{DYNAMODB_ENDPOINT_VARIABLE}={database.endpoint}")
            print(f"PREFECT_API_URL=http://127.0.0.1:{port}/api", flush=True)
            uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    except KeyboardInterrupt:  # Ctrl-C, once uvicorn has stopped and DynamoDB Local too
        sys.exit(128 + signal.SIGINT)


if __name__ == "__main__":
    main()
