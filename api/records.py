"""The four kinds of archived record the service serves, and what differs between them."""

from dataclasses import dataclass

from storage.table_shapes import DEPLOYMENTS, FLOW_RUNS, FLOWS, TASK_RUNS, RecordTable


@dataclass(frozen=True, slots=True)
class RecordKind:
    path: str  # e.g. /api/flow_runs
    noun: str  # "flow run"
    not_found: str  # the 404 detail for a missing record (the contract's table)
    table: RecordTable

    @property
    def record_path(self) -> str:
        return f"{self.path}/{{id}}"

    @property
    def filter_path(self) -> str:
        return f"{self.path}/filter"

    @property
    def count_path(self) -> str:
        return f"{self.path}/count"


FLOW_RUN_RECORDS = RecordKind("/api/flow_runs", "flow run", "Flow run not found", FLOW_RUNS)
TASK_RUN_RECORDS = RecordKind("/api/task_runs", "task run", "Task run not found", TASK_RUNS)
FLOW_RECORDS = RecordKind("/api/flows", "flow", "Flow not found", FLOWS)
DEPLOYMENT_RECORDS = RecordKind(
    "/api/deployments", "deployment", "Deployment not found", DEPLOYMENTS
)
PAGINATE_FLOW_RUNS_PATH = f"{FLOW_RUN_RECORDS.path}/paginate"
