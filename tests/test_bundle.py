"""`sam build` (what `sam deploy` uploads): each function holds the service's code alone,
precompiled for its runtime; one layer holds the runtime dependencies, built for arm64."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bundle.build import SERVICE_PACKAGES
from local.invoke import function_ids, function_properties
from local.paths import PROJECT, REQUIREMENTS
from local.template_tables import load_template
from tests.template import api_function_ids

pytestmark = pytest.mark.slow  # `sam build`

HASH_BASED_UNCHECKED = 0b01  # a pyc's flags: compared with no source, whatever its mtime
MACHINES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda's names, the wheels'


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make build` (sam build) into a directory of the test's own."""
    directory = tmp_path_factory.mktemp("sam-build")
    result = subprocess.run(
        ["make", "--silent", "--no-print-directory", "build", f"BUILD_DIR={directory}"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def python_files(root: Path) -> set[Path]:
    return {
        path.relative_to(root) for path in root.rglob("*.py") if "__pycache__" not in path.parts
    }


def runtime_tag() -> str:
    """The bytecode tag of the template's runtime: python3.12 gives cpython-312."""
    version: str = load_template()["Globals"]["Function"]["Runtime"].removeprefix("python")
    return "cpython-" + version.replace(".", "")


def assert_precompiled(root: Path) -> None:
    for source in python_files(root):
        cached = root / source.parent / "__pycache__" / f"{source.stem}.{runtime_tag()}.pyc"
        header = cached.read_bytes()[:8]
        assert header[:4] == importlib.util.MAGIC_NUMBER, cached
        assert int.from_bytes(header[4:8], "little") == HASH_BASED_UNCHECKED, cached


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_a_function_holds_the_service_code_alone_precompiled(build: Path, logical_id: str) -> None:
    bundle = build / logical_id
    assert {path.name for path in bundle.iterdir()} == set(SERVICE_PACKAGES)
    assert python_files(bundle) == set().union(
        *(
            {package / path for path in python_files(PROJECT / package)}
            for package in map(Path, SERVICE_PACKAGES)
        )
    )
    assert_precompiled(bundle)


def test_each_function_imports_its_handler_from_its_own_bundle(build: Path) -> None:
    """In one process: each bundle first on the path, the service's modules forgotten between."""
    script = """
import importlib, json, sys
loaded_from = {}
def service_modules():
    return [name for name in sys.modules if name.split(".")[0] in json.loads(sys.argv[2])]
for bundle, module in json.loads(sys.argv[1]):
    for name in service_modules():
        del sys.modules[name]
    sys.path.insert(0, bundle)
    assert callable(importlib.import_module(module).handler)
    loaded_from[bundle] = sorted({sys.modules[name].__file__ for name in service_modules()})
    sys.path.remove(bundle)
print(json.dumps(loaded_from))
"""
    handlers = [
        (str(build / logical_id), function_properties(logical_id)["Handler"].rpartition(".")[0])
        for logical_id in function_ids()
    ]
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, json.dumps(handlers), json.dumps(SERVICE_PACKAGES)],
        cwd=build,
        capture_output=True,
        text=True,
        check=True,
    )
    for bundle, files in json.loads(result.stdout).items():
        assert files
        assert all(file.startswith(bundle + "/") for file in files), files


def test_the_import_function_holds_the_importer_and_its_own_dependencies(build: Path) -> None:
    bundle = build / "ImportFunction"
    packages = {path.name for path in bundle.iterdir() if (path / "__init__.py").exists()}
    assert {"api", "storage", "importer", "httpx"} <= packages
    assert "handlers" not in packages
    assert_precompiled(bundle / "importer")


def _distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_layer_holds_the_runtime_dependencies_for_the_functions_machine(build: Path) -> None:
    (layer_id,) = (
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    )
    packages = build / layer_id / "python"  # what Lambda puts on sys.path from a layer
    installed = {_distribution(path.name.split("-")[0]) for path in packages.glob("*.dist-info")}
    required = {
        _distribution(line.split("==")[0])
        for line in REQUIREMENTS.read_text().splitlines()
        if line and not line.startswith(("#", " "))
    }
    assert installed == required
    assert {"fastapi", "pydantic", "mangum", "botocore"} <= installed
    assert "httpx" not in installed  # the importer's own (ImportFunction), never the API's
    # `make build` builds for the template's default Architecture (test_template: what the
    # functions and the layer use); tests/test_sam_local.py runs a build for this machine's.
    architecture = load_template()["Parameters"]["Architecture"]["Default"]
    extensions = list(packages.rglob("*.so"))
    assert extensions  # pydantic-core's, at least
    for extension in extensions:
        assert f".{runtime_tag()}-{MACHINES[architecture]}-linux-gnu.so" in extension.name
    assert_precompiled(packages)
