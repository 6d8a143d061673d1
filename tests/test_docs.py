"""The README and docs/ name only what exists: every module, function or class
(`api.gate.RequestGate`), file or folder (`storage/batch.py`) and `make` target
(`make serve`) in their code spans and code blocks. Only names in the project's own
packages are checked, so that Prefect's modules, AWS's names and environment variables are
never taken for ours.

Quick: a module is found by its file, and only a module whose attribute is named is
imported (importing none starts a server)."""

import importlib
import inspect
import re
from pathlib import Path

import pytest

from local.paths import PROJECT, README

PACKAGES = (
    *("api", "handlers", "storage", "importer", "local", "bundle", "benchmarks", "queries"),
    "tests",
)
# docs/api-contract.md among them: copied verbatim from the shared reference, it names
# `make serve`.
DOCUMENTS = [README, *sorted((PROJECT / "docs").glob("*.md"))]
MAKEFILE = PROJECT / "Makefile"

_PACKAGE = "|".join(PACKAGES)
_CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`]+)`", re.DOTALL)
# Not preceded by what would make it part of a longer name: `/api/health`, `x.api`, `a-tests/`.
_START = r"(?<![\w./$-])"
_MAKE = re.compile(r"(?<![\w-])make ([a-z][\w.-]*)")
_PATH = re.compile(_START + rf"((?:{_PACKAGE})/[\w./${{}}<>*-]*)")
_DOTTED = re.compile(_START + rf"((?:{_PACKAGE})(?:\.\w+)+)(?![\w/-])")
_RUN_MODULE = re.compile(rf"(?<![\w-])-m ((?:{_PACKAGE})(?:\.\w+)*)(?![\w./-])")
# A path's placeholders (`${Architecture}`, `<arch>`, `*`): any name in their place.
_PLACEHOLDER = re.compile(r"\$\{[^}]*\}|<[^>]*>|\*")


def code_in(markdown: str) -> list[str]:
    """The text of the code spans and code blocks of a Markdown document."""
    return [block or span for block, span in _CODE.findall(markdown)]


def names_in(code: str) -> set[str]:
    """The project's names in a piece of code: `make <target>`, paths and dotted names."""
    names = {f"make {target}" for target in _MAKE.findall(code)}
    names.update(path.split("::")[0].rstrip(".") for path in _PATH.findall(code))
    names.update(_DOTTED.findall(code), _RUN_MODULE.findall(code))
    return names


def make_targets() -> set[str]:
    """The Makefile's targets; a pattern rule (`build-%Function`) is kept as a pattern."""
    rule = re.compile(r"^([^\s:=#][^:=\n]*?)[ \t]*::?(?!=)", re.MULTILINE)
    return {target for targets in rule.findall(MAKEFILE.read_text()) for target in targets.split()}


def _module_file(module: str) -> Path | None:
    base = PROJECT.joinpath(*module.split("."))
    for file in (base.with_suffix(".py"), base / "__init__.py"):
        if file.is_file():
            return file
    return None


def _resolves(dotted: str) -> bool:
    """A module, or an attribute of one; a function or class must be defined where named,
    not merely imported there (`api.app.RequestGate` is `api.gate`'s)."""
    parts = dotted.split(".")
    found = [end for end in range(len(parts), 0, -1) if _module_file(".".join(parts[:end]))]
    if not found:
        return False
    module_name, attributes = ".".join(parts[: found[0]]), parts[found[0] :]
    if not attributes:
        return True
    value: object = importlib.import_module(module_name)
    for depth, attribute in enumerate(attributes):
        if not hasattr(value, attribute):
            return False
        value = getattr(value, attribute)
        defined = inspect.isfunction(value) or inspect.isclass(value)
        if depth == 0 and defined and value.__module__ != module_name:
            return False
    return True


def missing(names: set[str]) -> list[str]:
    """The names that name nothing in the project."""
    targets = make_targets()
    patterns = [re.compile(re.escape(t).replace("%", ".+")) for t in targets if "%" in t]

    def exists(name: str) -> bool:
        if name.startswith("make "):
            target = name.removeprefix("make ")
            return target in targets or any(p.fullmatch(target) for p in patterns)
        if "/" in name:
            return any(PROJECT.glob(_PLACEHOLDER.sub("*", name.rstrip("/"))))
        return _resolves(name)

    return sorted(name for name in names if not exists(name))


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_name_a_document_gives_exists(document: Path) -> None:
    names = set().union(*map(names_in, code_in(document.read_text())))
    assert missing(names) == []


def test_names_are_found_in_code_spans_and_blocks_alone() -> None:
    markdown = "The `api.gate` module; api.app in prose.\n```sh\nmake serve\n```\nmake test\n"
    assert set().union(*map(names_in, code_in(markdown))) == {"api.gate", "make serve"}
    assert names_in(".venv/bin/python -m importer --help; make invoke WITH=sam") == {
        "importer",
        "make invoke",
    }
    # Not ours: a route, an environment variable, Prefect's modules, AWS's names.
    assert not names_in("GET /api/health PREFECT_API_URL prefect.client.orchestration")
    assert not names_in("AWS::Serverless::Function boto3.client api-contract.md")


def test_a_stale_name_is_found_missing() -> None:
    present = {
        "api.gate.RequestGate",
        "importer.wiring.open_importer",
        "storage/batch.py",
        "bundle/architectures/${Architecture}",
        "make test",
        "make build-ReadFlowRunStateFunction",
        "api.settings.Settings.from_environment",
        "local.serve",
        "importer",
    }
    stale = {
        "api.app.RequestGate",  # imported there, defined in api.gate
        "importer.passes.no_such_function",
        "storage.clock",
        "storage/tables.py",
        "bundle/no_such_folder/${Architecture}",
        "make no-such-target",
        "api.settings.Settings.no_such_method",
    }
    assert missing(present | stale) == sorted(stale)


def test_every_setting_and_template_parameter_is_documented() -> None:
    """docs/configuration.md gives each variable the service reads and each parameter the
    template takes (a new one fails here until it is described)."""
    from api.settings import (
        AUTH_STRING_ARN_VARIABLE,
        AUTH_STRING_VARIABLE,
        DYNAMODB_ENDPOINT_VARIABLE,
        LOG_LEVEL_VARIABLE,
        RECORD_TABLE_VARIABLES,
        TABLE_VARIABLES,
    )
    from local.template_tables import load_template

    names = [AUTH_STRING_ARN_VARIABLE, AUTH_STRING_VARIABLE, DYNAMODB_ENDPOINT_VARIABLE]
    names.append(LOG_LEVEL_VARIABLE)
    for variables in TABLE_VARIABLES.values():
        names += [variables.name, variables.retention_days]
    names += [variable.name for variable in RECORD_TABLE_VARIABLES.values()]
    names += list(load_template()["Parameters"])
    spans = code_in((PROJECT / "docs" / "configuration.md").read_text())
    documented = {word for span in spans for word in re.findall(r"\w+", span)}
    assert [name for name in names if name not in documented] == []
