"""Every setting of the service: its environment variable, its default and its check.

They are read (`Settings.from_environment`) once per process by each API function, as its
handler module is imported (`api.app.lambda_handler`), and by `make serve`; the scheduled
import reads them at each invocation. What is read is handed to what needs it; tests
construct `Settings` directly. A bad value stops the process at start (the scheduled import:
the invocation), naming the variable, rather than failing requests later.

The DynamoDB endpoint is botocore's own setting, read by botocore when the client is made:
`AWS_ENDPOINT_URL_DYNAMODB`, else `AWS_ENDPOINT_URL`, else AWS; empty counts as unset (the
template declares it empty, for `sam local` to set).
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from storage.table_shapes import (
    DEPLOYMENTS,
    FLOW_RUN_STATES,
    FLOW_RUNS,
    FLOWS,
    TASK_RUN_STATES,
    TASK_RUNS,
    RecordTable,
    StateTable,
)

LOG_LEVEL_VARIABLE = "LOG_LEVEL"
AUTH_STRING_VARIABLE = "PREFECT_SERVER_API_AUTH_STRING"
AUTH_STRING_ARN_VARIABLE = "PREFECT_SERVER_API_AUTH_STRING_ARN"
DYNAMODB_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"  # botocore's (above)

MAX_RETENTION_DAYS = 36_500  # a century: for longer, leave retention off
_MICROSECONDS_PER_DAY = 86_400_000_000
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class TableVariables:
    """The variables that configure one state table."""

    name: str  # the table's name
    default_name: str  # where the variable is unset (make serve, tests)
    retention_days: str  # days to keep a state; unset or 0 keeps it until deleted


TABLE_VARIABLES: Mapping[StateTable, TableVariables] = {
    FLOW_RUN_STATES: TableVariables(
        "FLOW_RUN_STATES_TABLE", "flow-run-states", "FLOW_RUN_STATE_RETENTION_DAYS"
    ),
    TASK_RUN_STATES: TableVariables(
        "TASK_RUN_STATES_TABLE", "task-run-states", "TASK_RUN_STATE_RETENTION_DAYS"
    ),
}


@dataclass(frozen=True, slots=True)
class RecordTableVariable:
    """The variable naming one table of archived records (storage/table_shapes.py); records
    take their expiry from their states, so no retention of their own."""

    name: str
    default_name: str


RECORD_TABLE_VARIABLES: Mapping[RecordTable, RecordTableVariable] = {
    FLOW_RUNS: RecordTableVariable("FLOW_RUNS_TABLE", "flow-runs"),
    TASK_RUNS: RecordTableVariable("TASK_RUNS_TABLE", "task-runs"),
    FLOWS: RecordTableVariable("FLOWS_TABLE", "flows"),
    DEPLOYMENTS: RecordTableVariable("DEPLOYMENTS_TABLE", "deployments"),
}


def _default_record_tables() -> tuple[tuple[RecordTable, str], ...]:
    return tuple(
        (table, variable.default_name) for table, variable in RECORD_TABLE_VARIABLES.items()
    )


class SettingsError(ValueError):
    """A setting that cannot be used: the process refuses to start with it."""


@dataclass(frozen=True, slots=True)
class TableSettings:
    name: str
    # How long after its timestamp a state is served; None keeps it until deleted. Kept to
    # the microsecond, as timestamps are. A changed period applies to states written after.
    retention: timedelta | None = None


def _default_table(table: StateTable) -> TableSettings:
    return TableSettings(TABLE_VARIABLES[table].default_name)


@dataclass(frozen=True, slots=True)
class Settings:
    flow_run_states: TableSettings = field(default_factory=lambda: _default_table(FLOW_RUN_STATES))
    task_run_states: TableSettings = field(default_factory=lambda: _default_table(TASK_RUN_STATES))
    # Prefect's convention, `user:password`; None (with no ARN either) leaves auth off.
    auth_string: str | None = None
    # Deployed, where the auth string is kept instead: a Secrets Manager secret or an SSM
    # SecureString parameter, so the value is never in the template or the environment.
    auth_string_arn: str | None = None
    log_level: str = "INFO"
    # The archived records' tables and their names.
    record_tables: tuple[tuple[RecordTable, str], ...] = field(
        default_factory=_default_record_tables
    )

    def __post_init__(self) -> None:
        if self.auth_string and self.auth_string_arn:
            raise SettingsError(
                f"Set {AUTH_STRING_VARIABLE} or {AUTH_STRING_ARN_VARIABLE}, not both"
            )
        if self.log_level not in _LOG_LEVELS:
            raise SettingsError(
                f"{LOG_LEVEL_VARIABLE}={self.log_level!r} is not a log level: give one of "
                + ", ".join(_LOG_LEVELS)
            )

    def table(self, table: StateTable) -> TableSettings:
        return self.flow_run_states if table is FLOW_RUN_STATES else self.task_run_states

    def record_table_names(self) -> dict[RecordTable, str]:
        return dict(self.record_tables)

    def with_table(self, table: StateTable, settings: TableSettings) -> "Settings":
        """These settings, but `table`'s."""
        if table is FLOW_RUN_STATES:
            return replace(self, flow_run_states=settings)
        return replace(self, task_run_states=settings)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        def table_settings(table: StateTable) -> TableSettings:
            variables = TABLE_VARIABLES[table]
            return TableSettings(
                name=environ.get(variables.name) or variables.default_name,
                retention=retention_period(
                    variables.retention_days, environ.get(variables.retention_days, "")
                ),
            )

        return cls(
            flow_run_states=table_settings(FLOW_RUN_STATES),
            task_run_states=table_settings(TASK_RUN_STATES),
            auth_string=environ.get(AUTH_STRING_VARIABLE) or None,
            auth_string_arn=environ.get(AUTH_STRING_ARN_VARIABLE) or None,
            log_level=(environ.get(LOG_LEVEL_VARIABLE) or "INFO").upper(),
            record_tables=tuple(
                (table, environ.get(variable.name) or variable.default_name)
                for table, variable in RECORD_TABLE_VARIABLES.items()
            ),
        )


def retention_period(variable: str, text: str) -> timedelta | None:
    """A period of days as `variable` gives it (`text`); None for "" or 0 (keep until deleted).

    Fractions of a day are allowed (0.5 is 12 hours), so that a short period can be tried
    out under `make serve` and busy task-run tables can keep hours rather than days.
    """
    try:
        days = Decimal(text.strip() or "0")
    except InvalidOperation:
        days = Decimal("NaN")
    if not (days.is_finite() and 0 <= days <= MAX_RETENTION_DAYS):
        raise SettingsError(
            f"{variable}={text!r} is not a retention period: give a number of days from 0 "
            f"(keep states until deleted) to {MAX_RETENTION_DAYS}, fractions allowed "
            "(0.5 is 12 hours)"
        )
    microseconds = round(days * _MICROSECONDS_PER_DAY)
    return timedelta(microseconds=microseconds) if microseconds else None


# The scheduled import's own settings (template.yaml's ImportFunction; importer/scheduled.py).
IMPORT_SOURCE_URL_VARIABLE = "IMPORT_SOURCE_API_URL"
IMPORT_SOURCE_AUTH_STRING_ARN_VARIABLE = "IMPORT_SOURCE_AUTH_STRING_ARN"


@dataclass(frozen=True, slots=True)
class ImportSourceSettings:
    api_url: str  # the Prefect server's API URL
    auth_string_arn: str | None = None  # where its auth string is kept; None: auth off

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "ImportSourceSettings":
        api_url = environ.get(IMPORT_SOURCE_URL_VARIABLE)
        if not api_url:
            raise SettingsError(f"{IMPORT_SOURCE_URL_VARIABLE} is not set: no source to import")
        return cls(api_url, environ.get(IMPORT_SOURCE_AUTH_STRING_ARN_VARIABLE) or None)
