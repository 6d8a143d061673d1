"""`make bench`: one run, one table. See docs/performance.md.

Cold starts run on a bundle built the way a deployment builds it (`bundle.build`), against a
moto server; warm figures, call counts and listings run in processes of their own.
"""

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from api.settings import DYNAMODB_ENDPOINT_VARIABLE
from benchmarks.archive import PREFECT as ARCHIVE_PREFECT
from benchmarks.archive import PREFECT_FLOW_RUNS, RECORDS_FLOW_RUNS
from benchmarks.archive import SERVICE as ARCHIVE_SERVICE
from benchmarks.cold import BASELINE, ColdFigures, ColdSubject, measure_cold, runtime_packages
from benchmarks.functions import (
    LambdaFunction,
    load_event,
    storage_request,
    template_functions,
)
from benchmarks.listing import PAGE_LIMIT, RUN_LENGTHS
from benchmarks.serve import OTHER_STATES, PREFECT, RUN_LENGTH, SERVICE
from benchmarks.serve import ROUNDS as SERVE_ROUNDS
from benchmarks.states import seed
from benchmarks.warm import ROUNDS, WARM_UP
from local.database import LOCAL_AWS_SETTINGS
from local.paths import EVENTS, PROJECT

# Local settings: a region and dummy credentials, and no shared AWS files.
_AWS_SETTINGS = {
    **LOCAL_AWS_SETTINGS,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _run_json(
    module: str, *arguments: str, environment: Mapping[str, str], log_on_pipe: bool = False
) -> Any:
    """Run `python -m module` in a process of its own and read the JSON it prints.

    Its stderr, where the functions write a log line per request, goes to a file, or with
    `log_on_pipe` to a pipe this process reads, as a log collector would: each line then
    wakes the reader, which on this machine's two cores the writer pays for.
    """
    with tempfile.TemporaryFile() as log:
        finished = subprocess.run(
            [sys.executable, "-m", module, *arguments],
            cwd=PROJECT,
            env={**os.environ, **environment},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if log_on_pipe else log,
            text=True,
            check=False,
        )
        if finished.returncode != 0:
            log.seek(0)
            errors = finished.stderr if log_on_pipe else log.read().decode()
            raise RuntimeError(f"python -m {module} failed:\n{errors}")
    return json.loads(finished.stdout)


@contextmanager
def _moto_with_tables(functions: list[LambdaFunction], events: Path) -> Iterator[str]:
    """A moto server holding the template's tables and what each event asks for."""
    from api.clock import utc_now
    from api.settings import Settings
    from local.servers import moto_server
    from local.template_tables import create_tables
    from storage.clients import aws_client
    from storage.dynamodb import DynamoDBStateRepository

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    with moto_server() as endpoint:
        client = aws_client("dynamodb", endpoint=endpoint)
        settings = Settings()
        create_tables(client, settings)
        for function in functions:
            request = storage_request(load_event(events, function))
            if request is not None:
                table = request.kind.table
                name = settings.table(table).name
                seed(DynamoDBStateRepository(table, name, client, utc_now), request)
        yield endpoint


def _machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.partition(":")[2].strip()
            break
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"
    )


_STANDARD_BASELINE = f"baseline: {BASELINE}, botocore as installed"
_TRIMMED_BASELINE = f"baseline: {BASELINE}, botocore trimmed"
_UNTRIMMED_SUFFIX = ", botocore as installed"


def _cold_order(
    functions: list[LambdaFunction], shipped: Path, untrimmed: Path
) -> list[ColdSubject]:
    """Both baselines twice a round, every function on the shipped bundle, and the first
    function on an untrimmed one, to show what trimming botocore's data buys."""
    baselines = [
        ColdSubject(_STANDARD_BASELINE, untrimmed, None),
        ColdSubject(_TRIMMED_BASELINE, shipped, None),
    ]
    on_shipped = [ColdSubject(function.logical_id, shipped, function) for function in functions]
    middle = len(on_shipped) // 2
    first = functions[0]
    return [
        *baselines,
        *on_shipped[:middle],
        *baselines,
        *on_shipped[middle:],
        ColdSubject(first.logical_id + _UNTRIMMED_SUFFIX, untrimmed, first),
    ]


def _cold_table(figures: dict[str, ColdFigures]) -> list[str]:
    standard, trimmed = figures[_STANDARD_BASELINE], figures[_TRIMMED_BASELINE]
    lines = [
        "| process | answer | import ms | first answer ms | wall ms | ÷ baseline | "
        "÷ trimmed baseline | peak RSS MB |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for label, figure in figures.items():
        lines.append(
            f"| {label} | {figure.status} | {figure.import_ms:.0f} | {figure.first_answer_ms:.0f}"
            f" | {figure.wall_ms:.0f} | {figure.wall_ms / standard.wall_ms:.2f}"
            f" | {figure.wall_ms / trimmed.wall_ms:.2f} | {figure.peak_rss_mb:.1f} |"
        )
    return lines


def _serve_table(figures: list[dict[str, Any]]) -> list[str]:
    """make serve's figures beside Prefect's, and each one's ratio to Prefect's."""
    prefect = {figure["request"]: figure for figure in figures if figure["server"] == PREFECT}
    lines = [
        f"make serve over HTTP (keep-alive, loopback) on DynamoDB Local keeping its tables in a "
        f"folder, beside a Prefect 3.9.1 server on SQLite: a read by id and a run's list of "
        f"{RUN_LENGTH} states, median of {figures[0]['rounds']} interleaved rounds after "
        f"warm-up; the crowded table also holds states of other runs:",
        "",
        "| server | request | answer | states | body bytes | p50 ms | p90 ms | p50 ÷ Prefect's |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for figure in figures:
        server = figure["server"]
        if server == SERVICE and figure["other_states"]:
            server += f", {figure['other_states']:,} other states in its table"
        ratio = figure["p50_ms"] / prefect[figure["request"]]["p50_ms"]
        lines.append(
            f"| {server} | {figure['request']} | {figure['status']} | {figure['states']}"
            f" | {figure['body_bytes']:,} | {figure['p50_ms']:.2f} | {figure['p90_ms']:.2f}"
            f" | {ratio:.2f} |"
        )
    return [*lines, ""]


def _import_table(imported: dict[str, Any]) -> list[str]:
    """Each size's import beside its floor, then the follow pass with nothing new."""
    lines = [
        "Importing from a live Prefect 3.9.1 server (SQLite) into DynamoDB Local, each in a "
        "process of its own (peak RSS from a launcher); the floor only reads the same states "
        "from the server, with the importer's concurrency:",
        "",
        "| flow runs | task runs | states | floor, states/s | import, states/s "
        "| import ÷ floor (time) | import peak RSS MB | floor peak RSS MB |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for size in imported["sizes"]:
        floor, copied = size["floor"], size["import"]
        lines.append(
            f"| {size['flow_runs']:,} | {size['task_runs']:,} | {copied['states']:,}"
            f" | {floor['states'] / floor['seconds']:.0f}"
            f" | {copied['states'] / copied['seconds']:.0f}"
            f" | {copied['seconds'] / floor['seconds']:.2f}"
            f" | {copied['peak_rss_mb']:.1f} | {floor['peak_rss_mb']:.1f} |"
        )
    follow = imported["follow"]
    requests = ", ".join(f"{path}: {count}" for path, count in sorted(follow["requests"].items()))
    reads = ", ".join(f"{name}: {count}" for name, count in sorted(follow["dynamodb"].items()))
    return [
        *lines,
        "",
        f"A follow pass with nothing new, at {imported['sizes'][-1]['flow_runs']:,} flow runs:"
        f" {follow['seconds']:.2f} s, {follow['states']} states copied;"
        f" requests to Prefect: {sum(follow['requests'].values())} ({requests});"
        f" DynamoDB: {reads}.",
        "",
    ]


def _archive_table(archive: dict[str, Any]) -> list[str]:
    """Each query's p50 and p95 on make serve beside Prefect's on its slice."""
    by_server = {(row["server"], row["query"]): row for row in archive["queries"]}
    queries = list(dict.fromkeys(row["query"] for row in archive["queries"]))
    rounds = archive["queries"][0]["rounds"]
    lines = [
        f"Finding runs in an archive of {archive['flow_runs']:,} flow runs and"
        f" {archive['task_runs']:,} task runs, written into DynamoDB Local through put_records"
        f" in {archive['load_seconds']:.0f} s, beside a Prefect 3.9.1 server holding the"
        f" newest {archive['prefect_flow_runs']:,} of them and their"
        f" {archive['prefect_task_runs']:,} task runs (its SQLite filled in"
        f" {archive['prefect_fill_seconds']:.1f} s); both asked over HTTP (keep-alive, loopback)"
        f" and both answering the same, {rounds} interleaved rounds after warm-up:",
        "",
        "| query | answer | body bytes | make serve p50 ms | p95 ms | Prefect p50 ms | p95 ms"
        " | p95 ÷ Prefect's |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for query in queries:
        service, prefect = by_server[(ARCHIVE_SERVICE, query)], by_server[(ARCHIVE_PREFECT, query)]
        lines.append(
            f"| {query} | {service['answer']} | {service['body_bytes']:,}"
            f" | {service['p50_ms']:.1f} | {service['p95_ms']:.1f}"
            f" | {prefect['p50_ms']:.1f} | {prefect['p95_ms']:.1f}"
            f" | {service['p95_ms'] / prefect['p95_ms']:.2f} |"
        )
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12, help="cold processes per function")
    parser.add_argument("--invocations", type=int, default=1000, help="warm calls per function")
    parser.add_argument("--run-lengths", type=int, nargs="+", default=list(RUN_LENGTHS))
    parser.add_argument(
        "--serve-rounds", type=int, default=SERVE_ROUNDS, help="make serve's HTTP rounds"
    )
    parser.add_argument(
        "--other-states",
        type=int,
        default=OTHER_STATES,
        help="states of other runs beside the listed one, in make serve's crowded table",
    )
    parser.add_argument(
        "--records-flow-runs",
        type=int,
        default=RECORDS_FLOW_RUNS,
        help="flow runs in the archive queried (three task runs each)",
    )
    parser.add_argument(
        "--prefect-flow-runs",
        type=int,
        default=PREFECT_FLOW_RUNS,
        help="the newest of them in the Prefect server beside it",
    )
    options = parser.parse_args()
    os.environ.update(_AWS_SETTINGS)
    began = time.monotonic()
    functions = template_functions()
    out: list[str] = [f"Machine: {_machine()}, load average {os.getloadavg()[0]:.1f} at start", ""]

    events = EVENTS
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        from bundle.build import build_bundle

        shipped, untrimmed = Path(scratch) / "bundle", Path(scratch) / "bundle-full-botocore"
        build_bundle(shipped)
        build_bundle(untrimmed, trim_botocore=False)
        with _moto_with_tables(functions, events) as endpoint:
            environment = {**_AWS_SETTINGS, DYNAMODB_ENDPOINT_VARIABLE: endpoint}
            order = _cold_order(functions, shipped, untrimmed)
            runtime = runtime_packages(Path(scratch) / "lambda-runtime")
            cold = measure_cold(order, events, environment, options.rounds, runtime)
        out += [
            f"Cold init: median of {options.rounds} fresh processes each (import the handler, "
            "answer its event once against a moto server), precompiled bundle, botocore "
            "trimmed to the services called unless said:",
            "",
            *_cold_table(cold),
            "",
        ]
        warm_lines = [
            f"Warm overhead per request: {options.invocations} invocations of each Mangum handler"
            f" after {WARM_UP} unmeasured, in {ROUNDS} rounds taking the functions in turn",
            "",
            "| function | answer | memory p50 µs | memory p99 µs | memory, log on a pipe: p50 µs"
            " | moto p50 µs | moto p99 µs |",
            "|---|---|--:|--:|--:|--:|--:|",
        ]
        arguments = ["--events", str(events), "--invocations", str(options.invocations)]
        memory = _run_json(
            "benchmarks.warm", *arguments, "--storage", "memory", environment=_AWS_SETTINGS
        )
        piped = _run_json(
            "benchmarks.warm",
            *arguments,
            "--storage",
            "memory",
            environment=_AWS_SETTINGS,
            log_on_pipe=True,
        )
        moto = _run_json(
            "benchmarks.warm", *arguments, "--storage", "moto", environment=_AWS_SETTINGS
        )
        for in_memory, on_pipe, in_moto in zip(memory, piped, moto, strict=True):
            warm_lines.append(
                f"| {in_memory['function']} | {in_memory['status']}"
                f" | {in_memory['p50_us']:.0f} | {in_memory['p99_us']:.0f}"
                f" | {on_pipe['p50_us']:.0f}"
                f" | {in_moto['p50_us']:.0f} | {in_moto['p99_us']:.0f} |"
            )
        out += [*warm_lines, ""]

    calls = _run_json("benchmarks.calls", environment=_AWS_SETTINGS)
    out += [
        "DynamoDB calls per operation (botocore's before-call hook, moto):",
        "",
        "| operation | answer | calls | made |",
        "|---|---|--:|---|",
        *(
            f"| {count['operation']} | {count['status']} | {len(count['calls'])}"
            f" | {', '.join(count['calls'])} |"
            for count in calls
        ),
        "",
    ]
    lengths = [str(length) for length in options.run_lengths]
    listing = _run_json("benchmarks.listing", "--run-lengths", *lengths, environment=_AWS_SETTINGS)
    out += [
        "Listing a run's states against DynamoDB Local through the list function, paging with "
        f"`limit={PAGE_LIMIT}` and each X-Next-Cursor to the end (median of repetitions):",
        "",
        "| states | listed | pages | Queries | median ms, all pages | µs per state | body bytes |",
        "|--:|--:|--:|--:|--:|--:|--:|",
        *(
            f"| {row['states']:,} | {row['listed']:,} | {row['pages']} | {row['calls']}"
            f" | {row['median_ms']:.1f} | {row['us_per_state']:.0f} | {row['body_bytes']:,} |"
            for row in listing
        ),
        "",
    ]
    out += _serve_table(
        _run_json(
            "benchmarks.serve",
            *("--rounds", str(options.serve_rounds)),
            *("--other-states", str(options.other_states)),
            environment=_AWS_SETTINGS,
        )
    )
    out += _archive_table(
        _run_json(
            "benchmarks.archive",
            *("--records-flow-runs", str(options.records_flow_runs)),
            *("--prefect-flow-runs", str(options.prefect_flow_runs)),
            environment=_AWS_SETTINGS,
        )
    )
    out += _import_table(_run_json("benchmarks.importing", environment=_AWS_SETTINGS))
    out += [
        f"make bench took {time.monotonic() - began:.0f} s; "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
    ]
    print("\n".join(out))


if __name__ == "__main__":
    main()
