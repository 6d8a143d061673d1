"""The archive bench's runs written into a Prefect 3.9.1 server's own SQLite database, rows
made from its template run's rows: seconds for 10,000 flow runs, where its API on SQLite
writes about 30 requests a second (benchmarks/prefect_volume.py says more).

Each record becomes the row it was served from: every column a record field names takes
that field's value in SQLite's form (times as `YYYY-MM-DD HH:MM:SS.ffffff` UTC, a run time
as 1970-01-01 plus it, JSON columns as JSON text, booleans as 0 or 1); the others keep the
template row's. A run's current state becomes its one state row.
"""

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.archive_runs import Record

_TIME_COLUMNS = {
    "created",
    "updated",
    "expected_start_time",
    "next_scheduled_start_time",
    "start_time",
    "end_time",
    "cache_expiration",
    "timestamp",
    "state_timestamp",
}
_EPOCH = datetime(1970, 1, 1)
# (run table, its state table, the state table's column naming the run)
_FLOW_RUN_TABLES = ("flow_run", "flow_run_state", "flow_run_id")
_TASK_RUN_TABLES = ("task_run", "task_run_state", "task_run_id")

type Row = dict[str, Any]


def _sqlite_value(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column == "total_run_time":
        return (_EPOCH + timedelta(seconds=value)).isoformat(sep=" ", timespec="microseconds")
    if column in _TIME_COLUMNS:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _row(template: Row, fields: Mapping[str, Any]) -> Row:
    return {
        column: _sqlite_value(column, fields[column]) if column in fields else default
        for column, default in template.items()
    }


class PrefectSlice:
    """Writes runs into the SQLite database at `database`, shaped as the rows of the flow run
    `template_id` and of one of its task runs."""

    def __init__(self, database: Path, template_id: str) -> None:
        self._database = database
        with sqlite3.connect(database, timeout=60) as connection:
            connection.row_factory = sqlite3.Row

            def first(query: str, *parameters: str) -> Row:
                return dict(connection.execute(query, parameters).fetchone())

            flow_run = first("SELECT * FROM flow_run WHERE id = ?", template_id)
            task_run = first("SELECT * FROM task_run WHERE flow_run_id = ?", template_id)
            self._templates = {
                "flow_run": flow_run,
                "flow_run_state": first(
                    "SELECT * FROM flow_run_state WHERE id = ?", flow_run["state_id"]
                ),
                "task_run": task_run,
                "task_run_state": first(
                    "SELECT * FROM task_run_state WHERE id = ?", task_run["state_id"]
                ),
            }
        connection.close()

    def write(self, flow_runs: Iterable[tuple[Record, list[Record]]]) -> None:
        """Each flow run and its task runs, with their states, in one transaction."""
        rows: dict[str, list[Row]] = {table: [] for table in self._templates}
        for flow_run, task_runs in flow_runs:
            self._add(rows, _FLOW_RUN_TABLES, flow_run)
            for task_run in task_runs:
                self._add(rows, _TASK_RUN_TABLES, task_run)
        with sqlite3.connect(self._database, timeout=60) as connection:
            for table, table_rows in rows.items():
                columns = list(self._templates[table])
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)})"
                    f" VALUES ({', '.join('?' for _ in columns)})",
                    [[row[column] for column in columns] for row in table_rows],
                )
        connection.close()

    def _add(self, rows: dict[str, list[Row]], tables: tuple[str, str, str], run: Record) -> None:
        run_table, state_table, owner = tables
        state = run["state"]
        rows[run_table].append(
            _row(self._templates[run_table], {**run, "state_timestamp": state["timestamp"]})
        )
        rows[state_table].append(
            _row(
                self._templates[state_table],
                {
                    **state,
                    "created": state["timestamp"],
                    "updated": state["timestamp"],
                    owner: run["id"],
                },
            )
        )
