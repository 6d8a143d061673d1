"""The two kinds of run whose states the service stores, and what differs between them."""

from dataclasses import dataclass

from storage.table_shapes import FLOW_RUN_STATES, TASK_RUN_STATES, StateTable


@dataclass(frozen=True, slots=True)
class RunKind:
    states_path: str  # e.g. /api/flow_run_states
    runs_path: str  # e.g. /api/flow_runs
    noun: str  # "flow run" or "task run"
    not_found: str  # the 404 detail for a missing state
    table: StateTable

    @property
    def run_id_field(self) -> str:
        """The query parameter and `state_details` field naming the run."""
        return self.table.run_id_attribute

    @property
    def state_path(self) -> str:
        return f"{self.states_path}/{{id}}"

    @property
    def set_state_path(self) -> str:
        return f"{self.runs_path}/{{id}}/set_state"


FLOW_RUN = RunKind(
    states_path="/api/flow_run_states",
    runs_path="/api/flow_runs",
    noun="flow run",
    not_found="Flow run state not found",
    table=FLOW_RUN_STATES,
)
TASK_RUN = RunKind(
    states_path="/api/task_run_states",
    runs_path="/api/task_runs",
    noun="task run",
    not_found="Task run state not found",
    table=TASK_RUN_STATES,
)
