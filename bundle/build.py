"""Build what Lambda runs: the dependencies layer, each function's code, or both in one folder.

`sam build` runs this through the Makefile's `build-*` targets (`BuildMethod: makefile`),
and the benchmarks build the same to measure it:

    python -m bundle.build layer TARGET --platform aarch64-manylinux_2_34   # -> TARGET/python
    python -m bundle.build function TARGET
    python -m bundle.build importer TARGET --platform aarch64-manylinux_2_34
    python -m bundle.build bundle TARGET          # both in one folder, for this machine

- The layer holds the runtime dependencies of `requirements.txt` (exported from `uv.lock`)
  for the functions' platform, with botocore's data trimmed to the services the code calls
  (`bundle.trim_botocore`).
- A function holds only the packages the handlers import: `api`, `handlers`, `storage`.
- The scheduled import (ImportFunction) holds `api`, `storage` and `importer`, and the
  importer's own dependency group (httpx), which the layer never holds.
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
import tempfile
from pathlib import Path

from bundle.trim_botocore import trim_botocore_data
from local.paths import PROJECT, REQUIREMENTS

SERVICE_PACKAGES = ("api", "handlers", "queries", "storage")
IMPORTER_PACKAGES = ("api", "storage", "queries", "importer")
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
    target: Path,
    *,
    uv: str = UV,
    platform: str | None = None,
    trim_botocore: bool = True,
    requirements: Path = REQUIREMENTS,
) -> None:
    """Install `requirements` (the runtime dependencies) into `target`, for `platform` (uv's
    --python-platform) or else for this interpreter."""
    version = ".".join(map(str, LAMBDA_PYTHON))
    platform_options = (
        ["--python-version", version, "--python-platform", platform, "--only-binary", ":all:"]
        if platform
        else ["--python", sys.executable]
    )
    subprocess.run(
        [
            *(uv, "pip", "install", "--quiet", "--requirement", str(requirements)),
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


def build_function(target: Path, packages: tuple[str, ...] = SERVICE_PACKAGES) -> None:
    """Copy the service's code into `target`."""
    for package in packages:
        shutil.copytree(
            PROJECT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__"),
            dirs_exist_ok=True,
        )
    _compile(target)


def build_importer(target: Path, *, uv: str = UV, platform: str | None = None) -> None:
    """The scheduled import's code and its own dependency group (exported from uv.lock)."""
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        subprocess.run(
            [
                *(uv, "export", "--frozen", "--only-group", "importer", "--no-hashes"),
                *("--quiet", "--output-file", str(requirements)),
            ],
            cwd=PROJECT,
            check=True,
        )
        build_dependencies(
            target, uv=uv, platform=platform, trim_botocore=False, requirements=requirements
        )
    build_function(target, IMPORTER_PACKAGES)


def build_bundle(target: Path, *, trim_botocore: bool = True) -> None:
    """Dependencies and code in one folder, for this machine: what the benchmarks run."""
    build_dependencies(target, trim_botocore=trim_botocore)
    build_function(target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("layer", "function", "importer", "bundle"))
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
    elif arguments.part == "importer":
        build_importer(arguments.target, platform=arguments.platform)
    else:
        build_bundle(arguments.target, trim_botocore=trim)


if __name__ == "__main__":
    main()
