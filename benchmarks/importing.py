"""Importing from a live Prefect 3.9.1 server into DynamoDB Local, beside the floor: the time to
only read the same states from the server, with the same concurrency. Prints JSON.

The server holds `--runs` flow runs of 3 states, each with a task run of 3 states
(tests/prefect_flows.py `recorded`). Each
round reads everything once (the floor), then imports everything into fresh tables.
"""

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from api.runs import FLOW_RUN, TASK_RUN
from api.settings import DYNAMODB_ENDPOINT_VARIABLE, Settings, TableSettings
from importer.progress import Progress
from importer.source import PrefectSource
from importer.windows import RunWindows
from importer.wiring import CONNECTIONS, open_importer
from local.database import LOCAL_AWS_SETTINGS
from local.dynamodb_local import dynamodb_local
from local.servers import prefect_server, run_prefect_flows
from local.template_tables import create_tables


def read_everything(source: PrefectSource) -> int:
    """Every run's states, read as the importer reads them; the number of states."""
    states = 0
    with ThreadPoolExecutor(CONNECTIONS) as executor:
        for kind in (FLOW_RUN, TASK_RUN):
            for runs in RunWindows(source, kind).pages():
                read = executor.map(lambda run, kind=kind: source.run_states(kind, run.id), runs)
                states += sum(len(run_states) for run_states in read)
    return states


class _Quiet(Progress):
    def update(self, covered: float, summary: object) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    os.environ.update(LOCAL_AWS_SETTINGS)
    with (
        tempfile.TemporaryDirectory(prefix="bench-prefect-") as home,
        prefect_server(Path(home)) as api_url,
        dynamodb_local() as endpoint,
    ):
        run_prefect_flows(api_url, Path(home), "recorded", str(options.runs))
        os.environ[DYNAMODB_ENDPOINT_VARIABLE] = endpoint
        floors, imports, copied = [], [], 0
        for _ in range(options.rounds):
            source = PrefectSource(api_url)
            began = time.perf_counter()
            states = read_everything(source)
            floors.append(time.perf_counter() - began)
            source.close()
            suffix = uuid.uuid4().hex[:8]  # fresh tables: every state is copied
            settings = Settings(
                flow_run_states=TableSettings(f"flow-run-states-{suffix}"),
                task_run_states=TableSettings(f"task-run-states-{suffix}"),
            )
            with open_importer(api_url, settings, progress=_Quiet()) as importer:
                create_tables(importer.tables.client, settings)
                began = time.perf_counter()
                importer.run()
                imports.append(time.perf_counter() - began)
            copied = importer.summary.states_copied
    floor, imported = statistics.median(floors), statistics.median(imports)
    print(
        json.dumps(
            {
                "runs": options.runs,
                "states": states,
                "copied": copied,
                "floor_s": floor,
                "import_s": imported,
                "floor_states_per_s": states / floor,
                "import_states_per_s": copied / imported,
            }
        )
    )


if __name__ == "__main__":
    main()
