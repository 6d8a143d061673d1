"""Build what Lambda runs: the dependencies layer, each function's code, or both in one folder.

`sam build` runs this through the Makefile's `build-*` targets (`BuildMethod: makefile`),
and the benchmarks build the same to measure it:

    python -m bundle.build layer TARGET --platform aarch64-manylinux_2_34   # -> TARGET/python
    python -m bundle.build function TARGET
    python -m bundle.build bundle TARGET          # both in one folder, for this machine

- The layer holds the runtime dependencies of `requirements.txt` (exported from `uv.lock`)
  for the functions' platform, with botocore's data trimmed to the services the code calls
  (`bundle.trim_botocore`).
- A function holds only the packages the handlers import: `api`, `handlers`, `storage`.
- Everything is compiled to bytecode for the runtime's Python, with unchecked hashes: a zip
  does not keep a source's modification time exactly, and a timestamp-checked `.pyc` that
  looks stale is recompiled on every cold start (its rewrite fails on Lambda's read-only
  file system).
"""

import argparse
import compileall
import os
import py_compile
import shutil
import subprocess
import sys
from pathlib import Path

from bundle.trim_botocore import trim_botocore_data

PROJECT = Path(__file__).resolve().parent.parent
REQUIREMENTS = PROJECT / "requirements.txt"
SERVICE_PACKAGES = ("api", "handlers", "storage")
LAMBDA_PYTHON = (3, 12)  # template.yaml's Runtime
# The Makefile passes the uv it uses; else the one on PATH, else the one it installs.
UV = os.environ.get("UV") or shutil.which("uv") or str(PROJECT / ".tools" / "bin" / "uv")


def _compile(folder: Path) -> None:
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise RuntimeError(f"bytecode for Lambda needs Python {'.'.join(map(str, LAMBDA_PYTHON))}")
    compiled = compileall.compile_dir(
        folder,
        quiet=1,
        workers=0,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if not compiled:
        raise RuntimeError(f"some modules in {folder} do not compile")


def build_dependencies(
    target: Path, *, uv: str = UV, platform: str | None = None, trim_botocore: bool = True
) -> None:
    """Install the runtime dependencies into `target`, for `platform` (uv's
    --python-platform) or else for this interpreter."""
    version = ".".join(map(str, LAMBDA_PYTHON))
    platform_options = (
        ["--python-version", version, "--python-platform", platform, "--only-binary", ":all:"]
        if platform
        else ["--python", sys.executable]
    )
    subprocess.run(
        [
            *(uv, "pip", "install", "--quiet", "--requirement", str(REQUIREMENTS)),
            *("--target", str(target), *platform_options),
            # Copies, not hard links into uv's cache: the trimming below edits files.
            *("--link-mode", "copy"),
        ],
        cwd=PROJECT,
        check=True,
    )
    if trim_botocore:
        trim_botocore_data(target)
    _compile(target)


def build_function(target: Path) -> None:
    """Copy the service's code into `target`."""
    for package in SERVICE_PACKAGES:
        shutil.copytree(
            PROJECT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__"),
            dirs_exist_ok=True,
        )
    _compile(target)


def build_bundle(target: Path, *, trim_botocore: bool = True) -> None:
    """Dependencies and code in one folder, for this machine: what the benchmarks run."""
    build_dependencies(target, trim_botocore=trim_botocore)
    build_function(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("layer", "function", "bundle"))
    parser.add_argument("target", type=Path, help="the folder to fill, e.g. $(ARTIFACTS_DIR)")
    parser.add_argument("--platform", help="uv's --python-platform, e.g. aarch64-manylinux_2_34")
    parser.add_argument(
        "--full-botocore", action="store_true", help="keep every service in botocore's data"
    )
    arguments = parser.parse_args()
    trim = not arguments.full_botocore
    if arguments.part == "layer":  # a layer's Python packages live under python/
        build_dependencies(
            arguments.target / "python", platform=arguments.platform, trim_botocore=trim
        )
    elif arguments.part == "function":
        build_function(arguments.target)
    else:
        build_bundle(arguments.target, trim_botocore=trim)


if __name__ == "__main__":
    main()
