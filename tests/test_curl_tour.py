"""docs/curl.md's commands run as they stand against the service `make serve` runs (and, in
tests/test_sam_local.py, `make local-api`)."""

import re
import subprocess

import pytest

from local.paths import PROJECT
from local.servers import moto_server, run_states_service

SERVE_URL = "http://127.0.0.1:4200/api"  # what `make serve` listens on by default


def curl_examples() -> str:
    block = re.search(r"```sh\n(.*?)```", (PROJECT / "docs" / "curl.md").read_text(), re.DOTALL)
    assert block is not None
    return block.group(1)


@pytest.mark.slow
def test_the_curl_examples_work_verbatim() -> None:
    # A database of its own: the examples name fixed ids and expect to write them first.
    with moto_server() as endpoint, run_states_service(endpoint) as api_url:
        assert_curl_examples_work(api_url)


def assert_curl_examples_work(api_url: str) -> None:
    """The examples, run against the API at `api_url` (tests/test_sam_local.py runs them
    through `sam local start-api`), write, read, list, delete and answer as they say."""
    script = curl_examples()
    assert SERVE_URL in script
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace(SERVE_URL, api_url)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    accepted, rejected = out.index('"status":"ACCEPT"'), out.index('"status":"REJECT"')
    assert accepted < rejected
    assert out.count("x-next-cursor:") == 1  # the first page of two has one; the last, none
    assert "HTTP/1.1 204" in out
    assert '{"detail":"Flow run state not found"}' in out
    assert out.endswith('true"0.8.4""3.9.1"{"detail":"CSRF protection is disabled."}')
