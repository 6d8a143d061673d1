"""Build a Lambda deployment package: runtime dependencies, the service's code, bytecode.

`python -m bundle.build TARGET` is what a SAM `BuildMethod: makefile` target runs with
`TARGET=$(ARTIFACTS_DIR)`; the benchmarks build the same bundle to measure it. Steps:

1. the runtime dependencies pinned in `uv.lock` (no development group), for the target
   platform (`--platform aarch64-manylinux2014` for arm64 functions);
2. the packages the handlers import: `api`, `handlers`, `storage`;
3. botocore's data trimmed to DynamoDB (`bundle.trim_botocore`), unless `--full-botocore`;
4. every module compiled to bytecode. The `.pyc` files use unchecked hashes: a zip does not
   keep the source's modification time exactly, and a timestamp-checked `.pyc` that looks
   stale is recompiled on every cold start (its rewrite fails silently on Lambda's
   read-only file system).
"""

import argparse
import compileall
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bundle.trim_botocore import trim_botocore_data

PROJECT = Path(__file__).resolve().parent.parent
SERVICE_PACKAGES = ("api", "handlers", "storage")
UV = os.environ.get("UV", "uv")  # the Makefile passes the uv it installed where none is on PATH


def build_bundle(
    target: Path,
    *,
    uv: str = UV,
    platform: str | None = None,
    trim_botocore: bool = True,
) -> None:
    """Fill `target` (created if missing) with everything a function needs to run."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        subprocess.run(
            [
                *(uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-emit-project"),
                *("--quiet", "--output-file", str(requirements)),
            ],
            cwd=PROJECT,
            check=True,
        )
        platform_options = ["--python-platform", platform] if platform else []
        subprocess.run(
            [
                *(uv, "pip", "install", "--quiet", "--target", str(target)),
                *("-r", str(requirements), "--python", sys.executable, *platform_options),
                # Copies, not hard links into uv's cache: the bundle is edited below.
                *("--link-mode", "copy"),
            ],
            cwd=PROJECT,
            check=True,
        )
    for package in SERVICE_PACKAGES:
        shutil.copytree(
            PROJECT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__"),
            dirs_exist_ok=True,
        )
    if trim_botocore:
        trim_botocore_data(target)
    compiled = compileall.compile_dir(
        target,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"some modules in {target} do not compile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the folder to fill, e.g. $(ARTIFACTS_DIR)")
    parser.add_argument("--uv", default=UV, help="the uv executable")
    parser.add_argument("--platform", help="uv's --python-platform, e.g. aarch64-manylinux2014")
    parser.add_argument(
        "--full-botocore", action="store_true", help="keep every service in botocore's data"
    )
    arguments = parser.parse_args()
    build_bundle(
        arguments.target,
        uv=arguments.uv,
        platform=arguments.platform,
        trim_botocore=not arguments.full_botocore,
    )


if __name__ == "__main__":
    main()
