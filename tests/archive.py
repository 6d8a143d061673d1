"""An archive of a Prefect source, served as `make serve` serves it: for the tests that set the
service's answers beside Prefect's (issue 21). Its DynamoDB is its own, so that it holds that
source's history and nothing else."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from api.settings import Settings
from importer.wiring import open_importer
from local.dynamodb_local import dynamodb_local
from local.servers import run_states_service
from local.template_tables import create_tables
from storage.clients import aws_client
from tests.prefect_source import AUTH_STRING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def load_archive(source_api_url: str, tables: "DynamoDBClient") -> None:
    """Everything the source holds copied into the service's tables (the template's, under
    their default names, on `tables`' DynamoDB): the runs' states and the records of runs,
    flows and deployments, as one `python -m importer SOURCE` copies them. The one place the
    tests load an archive."""
    settings = Settings()
    with open_importer(source_api_url, settings, AUTH_STRING, client=tables) as importer:
        completed = importer.run()
    summary = importer.summary
    if not completed or summary.runs_failed or summary.states_pending:
        raise RuntimeError(f"the copy is incomplete: {summary.lines()}")
    if summary.records_too_large:
        raise RuntimeError(f"records too large to archive: {summary.records_too_large}")


@contextmanager
def served_archive(source_api_url: str) -> Iterator[str]:
    """The source's history loaded into a DynamoDB Local of its own, and the service on it;
    yields the service's PREFECT_API_URL."""
    with dynamodb_local() as endpoint:
        tables = aws_client("dynamodb", endpoint=endpoint)
        create_tables(tables, Settings())
        load_archive(source_api_url, tables)
        with run_states_service(endpoint) as api_url:
            yield api_url
