"""The difference test's own judge (tests/same_answer.py, tests/filter_bodies.py): what it
lets pass as Prefect's answer, and what it does not."""

from tests.filter_bodies import DEPLOYMENTS, FLOW_RUNS, TASK_RUNS, refused
from tests.same_answer import page_difference

# Flow runs by id; "b", "c" and "d" share a name, "e" has one of its own.
RUNS = {
    run_id: {"id": run_id, "name": name}
    for run_id, name in [("a", "alpha"), ("b", "beta"), ("c", "beta"), ("d", "beta"), ("e", "eta")]
}


def test_the_same_page_passes() -> None:
    assert page_difference(FLOW_RUNS, "NAME_ASC", ["a", "b", "c"], ["a", "b", "c"], RUNS) is None


def test_runs_tied_on_the_sort_may_come_in_any_order() -> None:
    page = ["a", "b", "c", "d", "e"]
    assert page_difference(FLOW_RUNS, "NAME_ASC", page, ["a", "d", "b", "c", "e"], RUNS) is None


def test_a_tie_cut_by_the_page_may_hold_any_of_the_tied_runs() -> None:
    # limit 2: Prefect may give either "beta" run after "alpha".
    assert page_difference(FLOW_RUNS, "NAME_ASC", ["a", "b"], ["a", "d"], RUNS) is None


def test_a_whole_tie_must_hold_the_same_runs() -> None:
    # Only "b", "c", "d" are tied; a page that has all three of them but swaps one for a run
    # of another name is out of order.
    found = page_difference(FLOW_RUNS, "NAME_ASC", ["b", "c", "d"], ["b", "c", "e"], RUNS)
    assert found is not None


def test_an_order_other_than_prefects_fails() -> None:
    assert page_difference(FLOW_RUNS, "NAME_ASC", ["a", "b"], ["b", "a"], RUNS) is not None
    assert page_difference(FLOW_RUNS, "ID_DESC", ["c", "b"], ["b", "c"], RUNS) is not None


def test_a_run_prefect_does_not_match_fails() -> None:
    assert page_difference(FLOW_RUNS, "NAME_ASC", ["a"], ["z"], RUNS) is not None


def test_missing_or_repeated_runs_fail() -> None:
    assert page_difference(FLOW_RUNS, "NAME_ASC", ["a", "b"], ["a"], RUNS) is not None
    assert page_difference(FLOW_RUNS, "NAME_ASC", ["b", "c"], ["b", "b"], RUNS) is not None


def test_only_what_no_record_can_answer_is_to_be_refused() -> None:
    by_type = {"work_pools": {"type": {"any_": ["process"]}}}
    by_id = {"work_pools": {"id": {"any_": ["7b3c1d5e-0000-4000-8000-000000000000"]}}}
    assert refused(FLOW_RUNS, by_type) == ["work_pools.type"]
    assert refused(FLOW_RUNS, by_id) == []  # on the flow run's own record
    assert refused(DEPLOYMENTS, by_id) == ["work_pools.id"]
    assert refused(TASK_RUNS, {"flow_runs": {"name": {"like_": "a"}}}) == []
