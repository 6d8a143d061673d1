"""Copy every flow-run and task-run state of a Prefect 3 server into the service's tables.

    python -m importer SOURCE [--follow] [--reconcile]   (make import SOURCE=... [FOLLOW=1])
    python -m importer verify SOURCE    compare the copy with the source (make verify SOURCE=...)
    python -m importer status SOURCE    how far the copy is known complete (read-only)

SOURCE is the server's API URL, e.g. http://prefect.internal:4200/api; SOURCE_AUTH_STRING
its `user:password`, where it has auth on. The states, and the records of runs, flows and
deployments, go into the tables the service uses: their names from FLOW_RUN_STATES_TABLE,
TASK_RUN_STATES_TABLE, FLOW_RUNS_TABLE, TASK_RUNS_TABLE, FLOWS_TABLE and DEPLOYMENTS_TABLE,
the database AWS's, or the one AWS_ENDPOINT_URL_DYNAMODB names (there, missing tables are
created from template.yaml).
A rerun copies only what is new, and resumes an interrupted copy where it stopped.
"""

import argparse
import logging
import os
import signal
import sys
from types import FrameType
from urllib.parse import urlparse

from botocore.exceptions import BotoCoreError, ClientError

from api.clock import utc_now
from api.settings import Settings, SettingsError
from importer.progress import Progress
from importer.source import SourceError
from importer.status import status_lines
from importer.wiring import CONNECTIONS, open_checkpoint, open_importer, open_verifier
from storage.repository import StorageUnavailable

AUTH_STRING_VARIABLE = "SOURCE_AUTH_STRING"
logger = logging.getLogger("prefect_run_states.importer")


def _source_url(text: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Prefect API URL: give one like http://prefect.internal:4200/api"
        )
    return text


COMMANDS = ("verify", "status")


def _parser(command: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m importer" + (f" {command}" if command else ""),
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("source", type=_source_url, metavar="SOURCE", help="Prefect API URL")
    if command is None:
        parser.add_argument(
            "--reconcile",
            action="store_true",
            help="begin with a reconcile: every run's states read again, not only the events'",
        )
    if command != "status":
        parser.add_argument(
            "--connections",
            type=int,
            default=CONNECTIONS,
            metavar="N",
            help=f"requests to the source and DynamoDB made at once (default {CONNECTIONS})",
        )
    if command is not None:
        return parser
    parser.add_argument(
        "--follow",
        action="store_true",
        help="keep copying new states as they appear, until SIGINT or SIGTERM",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="with --follow: seconds between passes over what changed (default 5)",
    )
    return parser


def _on_an_emulator() -> bool:
    """With an endpoint named (an emulator), its dummy settings, as `make serve` has them."""
    from local.database import configured_endpoint, use_local_aws_settings

    if configured_endpoint() is None:
        return False
    use_local_aws_settings()
    return True


def main(arguments: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if arguments is None else arguments
    command = arguments[0] if arguments[:1] and arguments[0] in COMMANDS else None
    options = _parser(command).parse_args(arguments[1:] if command else arguments)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    for chatty in ("httpx", "botocore"):  # a line per request, and where credentials came from
        logging.getLogger(chatty).setLevel(logging.WARNING)
    auth_string = os.environ.get(AUTH_STRING_VARIABLE) or None
    try:
        settings = Settings.from_environment()
        on_an_emulator = _on_an_emulator()
        if command == "status":
            checkpoint = open_checkpoint(options.source, settings).load()
            print("\n".join(status_lines(checkpoint, utc_now())))
            return 0
        progress = Progress()
        if command == "verify":
            with open_verifier(
                options.source, settings, auth_string, options.connections, progress
            ) as verifier:
                differences = verifier.verify()
                print("\n".join(verifier.report.lines()), file=sys.stderr)
            return 1 if differences else 0
        with open_importer(
            options.source, settings, auth_string, options.connections, progress
        ) as run:
            if on_an_emulator:  # missing tables created, as `make serve` does; never on AWS
                from local.template_tables import create_tables

                create_tables(run.tables.client, settings)

            def stop(signal_number: int, frame: FrameType | None) -> None:
                name = signal.Signals(signal_number).name
                logger.info("%s: stopping after the write in flight", name)
                run.stop.set()

            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            try:
                run.run(
                    follow=options.follow, interval=options.interval, reconcile=options.reconcile
                )
            finally:
                print("\n".join(run.summary.lines()), file=sys.stderr)
    except (SourceError, SettingsError) as error:
        print(f"{command or 'import'} failed: {error}", file=sys.stderr)
        return 1
    except (StorageUnavailable, BotoCoreError, ClientError) as error:
        print(
            f"import stopped: DynamoDB failed ({error}); what was written is kept, and a "
            "rerun resumes from the last page recorded",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
