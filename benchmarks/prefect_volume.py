"""A Prefect 3.9.1 server holding many runs, made in seconds: a few runs made through Prefect's
client (tests/prefect_flows.py `recorded`), then cloned in the server's own SQLite database.

Why clone: on this machine Prefect's API on SQLite writes about 30 requests a second at
any concurrency (100 flow runs of 3 task runs, 1,200 requests, took 38 s with 8 at once),
so 10,000 flow runs and 30,000 task runs through it would take an hour. A clone is every
row Prefect wrote for a template run (flow run, task runs, their states), with each of the
template's ids (runs and states) replaced by a new uuid wherever it appears (state details,
dynamic keys included) and every time moved back: clone n by an hour and n * 10 s, so that
the runs span hours, as a server's history does, each with its own `expected_start_time`,
all ended well before the copy begins. What the importer reads of them is what Prefect's
API serves from those rows.
"""

import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from local.servers import run_prefect_flows

TEMPLATES = 20  # runs made through the client, cloned in turn
CLONE_BASE_SHIFT = timedelta(hours=1)
CLONE_STEP = timedelta(seconds=10)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SQLITE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?")
# (table, the column naming its flow run: each table's rows of a template)
_TABLES = (
    ("flow_run", "id"),
    ("flow_run_state", "flow_run_id"),
    ("task_run", "flow_run_id"),
    ("task_run_state", "task_run_id"),
)


@dataclass
class PrefectVolume:
    """The runs of the Prefect server at `api_url` (home `home`), grown by `fill`."""

    api_url: str
    home: Path
    task_runs_per_flow_run: int
    flow_runs: int = 0
    _templates: list[dict[str, list[dict[str, Any]]]] = field(default_factory=list)
    _template_ids: set[str] = field(default_factory=set)  # its runs' and states' ids

    def fill(self, flow_runs: int) -> None:
        """Grow the server to `flow_runs` flow runs (each with its task runs)."""
        if not self._templates:
            made = run_prefect_flows(
                self.api_url,
                self.home,
                "recorded",
                str(min(TEMPLATES, flow_runs)),
                str(self.task_runs_per_flow_run),
            )
            ids = json.loads(made)["flow_runs"]
            self._templates = [self._rows(flow_run) for flow_run in ids]
            self._template_ids = {
                row["id"] for rows in self._templates for table in rows.values() for row in table
            }
            self.flow_runs = len(ids)
        with sqlite3.connect(self.home / "prefect.db", timeout=60) as database:
            for table, _ in _TABLES:
                rows = list(self._clones(table, flow_runs))
                if rows:
                    columns = list(rows[0])
                    database.executemany(
                        f"INSERT INTO {table} ({', '.join(columns)})"
                        f" VALUES ({', '.join('?' for _ in columns)})",
                        [[row[column] for column in columns] for row in rows],
                    )
        database.close()
        self.flow_runs = max(self.flow_runs, flow_runs)

    def _rows(self, flow_run: str) -> dict[str, list[dict[str, Any]]]:
        """Every row of the template flow run `flow_run`, by table."""
        with sqlite3.connect(self.home / "prefect.db", timeout=60) as database:
            database.row_factory = sqlite3.Row
            rows: dict[str, list[dict[str, Any]]] = {}
            task_runs: list[str] = []
            for table, key in _TABLES:
                owners = task_runs if table == "task_run_state" else [flow_run]
                marks = ", ".join("?" for _ in owners)
                found = database.execute(
                    f"SELECT * FROM {table} WHERE {key} IN ({marks})", owners
                ).fetchall()
                rows[table] = [dict(row) for row in found]
                if table == "task_run":
                    task_runs = [row["id"] for row in rows[table]]
        database.close()
        return rows

    def _clones(self, table: str, flow_runs: int) -> Iterator[dict[str, Any]]:
        """The rows of `table` for the clones from the current count up to `flow_runs`; the
        ids of clone n are the same in every table (a uuid5 of n and the template id)."""
        for number in range(self.flow_runs, flow_runs):
            template = self._templates[number % len(self._templates)]
            shift = CLONE_BASE_SHIFT + number * CLONE_STEP
            namespace = uuid.uuid5(uuid.NAMESPACE_OID, f"clone-{number}")
            for row in template[table]:
                yield {
                    column: self._cloned(value, namespace, shift) for column, value in row.items()
                }

    def _cloned(self, value: Any, namespace: uuid.UUID, shift: timedelta) -> Any:
        if not isinstance(value, str):
            return value
        if _SQLITE_TIME.fullmatch(value):
            moved = datetime.fromisoformat(value) - shift
            return moved.isoformat(sep=" ", timespec="microseconds" if "." in value else "seconds")
        # Each id of the template's runs and states becomes the clone's; others (the flow's) stay.
        return _UUID.sub(lambda found: self._clone_id(found.group(), namespace), value)

    def _clone_id(self, template_id: str, namespace: uuid.UUID) -> str:
        if template_id not in self._template_ids:
            return template_id
        return str(uuid.uuid5(namespace, template_id))
