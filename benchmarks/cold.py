"""Cold init: fresh processes that import a handler and answer its event once.

Each measured process runs with `-S` on the bundle alone (as on Lambda, nothing else is on
its path) and leaves with `os._exit(0)`: interpreter teardown is no part of a cold start.
A small launcher starts them and reads their peak RSS from `wait4`: on Linux a child's
`ru_maxrss` starts from its parent's peak across fork and exec, so the parent must be small.
"""

import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.functions import LambdaFunction

BASELINE = 'import boto3; boto3.client("dynamodb")'
# Lambda's Python runtime ships boto3 (with s3transfer) outside the function's bundle, which
# holds botocore alone: the baseline finds them in a folder of their own, after the bundle.
RUNTIME_PACKAGES = ("boto3", "s3transfer")

# The measured processes. Each prints "<import ms> <first answer ms> <status>".
_BASELINE = """
import os, sys, time
sys.path[0:0] = sys.argv[1:3]  # the bundle, then the runtime's boto3
start = time.perf_counter()
import boto3
imported = time.perf_counter()
boto3.client("dynamodb", region_name="us-east-1")
made = time.perf_counter()
os.write(1, f"{(imported - start) * 1e3} {(made - imported) * 1e3} -".encode())
os._exit(0)
"""
_FUNCTION = """
import json, os, sys, time
bundle, module_name, attribute, event_file = sys.argv[1:]
sys.path.insert(0, bundle)
with open(event_file) as file:
    event = json.load(file)
start = time.perf_counter()
handler = getattr(__import__(module_name, fromlist=[attribute]), attribute)
imported = time.perf_counter()
response = handler(event, None)
answered = time.perf_counter()
status = response["statusCode"]
os.write(1, f"{(imported - start) * 1e3} {(answered - imported) * 1e3} {status}".encode())
os._exit(0)
"""
# The launcher: only what spawning, waiting and JSON need, so its own peak stays small.
_LAUNCHER = """
import json, os, sys, time
plan = json.load(sys.stdin)
samples = {label: [] for label in plan["order"]}
for _ in range(plan["rounds"]):
    for label in plan["order"]:
        argv = plan["processes"][label]
        read_end, write_end = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, write_end, 1), (os.POSIX_SPAWN_CLOSE, read_end)]
        start = time.perf_counter()
        pid = os.posix_spawn(argv[0], argv, plan["environment"], file_actions=actions)
        _, status, usage = os.wait4(pid, 0)
        wall = time.perf_counter() - start
        os.close(write_end)
        output = os.read(read_end, 4096).decode()
        os.close(read_end)
        if status != 0:
            sys.exit(f"{label} exited with status {status}")
        samples[label].append([wall * 1e3, usage.ru_maxrss / 1024, output])
json.dump(samples, sys.stdout)
"""


@dataclass(frozen=True, slots=True)
class ColdSubject:
    label: str
    bundle: Path
    function: LambdaFunction | None  # None for the baseline process


@dataclass(frozen=True, slots=True)
class ColdFigures:
    label: str
    wall_ms: float  # medians over the samples
    import_ms: float
    first_answer_ms: float
    peak_rss_mb: float
    status: str  # the first answer's HTTP status
    samples: int


def runtime_packages(folder: Path) -> Path:
    """`folder`, holding boto3 and s3transfer as installed here: what Lambda's runtime adds."""
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise RuntimeError(f"{name} is not installed (moto brings it into .venv)")
        shutil.copytree(Path(spec.origin).parent, folder / name)
    return folder


def measure_cold(
    order: Sequence[ColdSubject],
    events: Path,
    environment: Mapping[str, str],
    rounds: int,
    runtime: Path,
) -> dict[str, ColdFigures]:
    """Figures by label. Each round starts the subjects in `order`, so that drift on a shared
    machine touches them all alike; a subject listed twice is sampled twice a round. The
    baseline imports boto3 from `runtime` (`runtime_packages`)."""
    python = [sys.executable, "-S", "-c"]
    processes = {}
    for subject in order:
        if subject.function is None:
            processes[subject.label] = [*python, _BASELINE, str(subject.bundle), str(runtime)]
        else:
            function = subject.function
            event = str(events / f"{function.logical_id}.json")
            processes[subject.label] = [
                *python,
                _FUNCTION,
                str(subject.bundle),
                function.module,
                function.attribute,
                event,
            ]
    labels = [subject.label for subject in order]
    measured = launch_measured(processes, labels, environment, rounds)
    return {label: _figures(label, samples) for label, samples in measured.items()}


def launch_measured(
    processes: Mapping[str, list[str]],
    order: Sequence[str],
    environment: Mapping[str, str],
    rounds: int = 1,
    cwd: Path | None = None,
) -> dict[str, list[list[float | str]]]:
    """Each round, the processes (argv by label) in `order`, one at a time, from a small
    launcher: for each label, its samples `[wall ms, peak RSS MB, what it printed]`. A process
    prints at most 4 KB, and must exit 0."""
    plan = {
        "rounds": rounds,
        "order": list(order),
        "processes": dict(processes),
        "environment": dict(environment),
    }
    launched = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    if launched.returncode != 0:
        raise RuntimeError(f"the launcher failed:\n{launched.stderr}")
    measured: dict[str, list[list[float | str]]] = json.loads(launched.stdout)
    return measured


def _figures(label: str, samples: list[list[float | str]]) -> ColdFigures:
    walls = [float(sample[0]) for sample in samples]
    peaks = [float(sample[1]) for sample in samples]
    outputs = [str(sample[2]).split() for sample in samples]
    return ColdFigures(
        label=label,
        wall_ms=statistics.median(walls),
        import_ms=statistics.median(float(output[0]) for output in outputs),
        first_answer_ms=statistics.median(float(output[1]) for output in outputs),
        peak_rss_mb=statistics.median(peaks),
        status=outputs[0][2],
        samples=len(samples),
    )
