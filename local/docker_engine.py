"""The Docker engine `sam local` needs: the one already running, or a `dockerd` started here
(Debian's `docker.io`, installed where missing) and stopped again when the block ends."""

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from local.debian_packages import ensure_command

ENGINE_START_SECONDS = 60


class DockerError(RuntimeError):
    """A docker command failed; the message holds what it printed on stderr."""


def docker(*arguments: str) -> str:
    """Runs the docker CLI; returns what it printed, stripped."""
    result = subprocess.run(["docker", *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DockerError(f"docker {' '.join(arguments)}: {result.stderr.strip()}")
    return result.stdout.strip()


def engine_answers() -> bool:
    """Whether a Docker engine answers (False too where there is no docker CLI yet)."""
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@contextmanager
def docker_engine() -> Iterator[None]:
    """A Docker engine while the block runs: if none answers, a `dockerd` of this block's own,
    which it stops at the end (containers left by the block go with it)."""
    if engine_answers():
        yield
        return
    dockerd = ensure_command("dockerd", "docker.io")
    with tempfile.NamedTemporaryFile(prefix="dockerd-", suffix=".log") as log:
        # A session of its own: Ctrl-C on `make local-api` reaches the containers' owners,
        # which still need the engine to remove them, not the engine itself.
        process = subprocess.Popen(
            [dockerd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            _wait_for_engine(process, log.name)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_engine(process: subprocess.Popen[bytes], log: str) -> None:
    deadline = time.monotonic() + ENGINE_START_SECONDS
    while not engine_answers():
        if process.poll() is not None or time.monotonic() > deadline:
            with open(log) as lines:
                raise DockerError("dockerd did not start:\n" + "".join(lines.readlines()[-20:]))
        time.sleep(0.2)
