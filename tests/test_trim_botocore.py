"""The bundle's botocore trimming: DynamoDB alone stays, and nothing outside the bundle changes."""

import json
import os
import re
from pathlib import Path

import botocore.session
import pytest

from bundle.build import SERVICE_PACKAGES
from bundle.trim_botocore import trim_botocore_data
from local.paths import PROJECT
from storage.clients import SERVICES as CALLED_SERVICES

ENDPOINTS = {
    "version": 3,
    "partitions": [
        {
            "partition": "aws",
            "regions": {"us-east-1": {}},
            "services": {"dynamodb": {"endpoints": {"us-east-1": {}}}, "s3": {"endpoints": {}}},
        },
        {"partition": "aws-cn", "regions": {}, "services": {"ec2": {"endpoints": {}}}},
    ],
}


@pytest.fixture
def site_packages(tmp_path: Path) -> Path:
    data = tmp_path / "site-packages" / "botocore" / "data"
    for service in ("dynamodb", "s3", "ec2"):
        (data / service / "2012-08-10").mkdir(parents=True)
        (data / service / "2012-08-10" / "service-2.json").write_text("{}")
    (data / "endpoints.json").write_text(json.dumps(ENDPOINTS))
    (data / "partitions.json").write_text("{}")
    return tmp_path / "site-packages"


def test_only_the_called_services_stay(site_packages: Path) -> None:
    trim_botocore_data(site_packages, services=("dynamodb",))

    data = site_packages / "botocore" / "data"
    assert sorted(entry.name for entry in data.iterdir()) == [
        "dynamodb",
        "endpoints.json",
        "partitions.json",
    ]
    endpoints = json.loads((data / "endpoints.json").read_text())
    assert [partition["services"] for partition in endpoints["partitions"]] == [
        {"dynamodb": {"endpoints": {"us-east-1": {}}}},
        {},
    ]
    assert endpoints["partitions"][0]["regions"] == {"us-east-1": {}}


def test_a_hard_linked_endpoints_file_elsewhere_is_left_whole(
    site_packages: Path, tmp_path: Path
) -> None:
    """Installers hard-link files from their cache into environments and bundles alike."""
    elsewhere = tmp_path / "cache-endpoints.json"
    os.link(site_packages / "botocore" / "data" / "endpoints.json", elsewhere)

    trim_botocore_data(site_packages, services=("dynamodb",))

    assert json.loads(elsewhere.read_text()) == ENDPOINTS


def test_a_service_botocore_lacks_is_refused_before_anything_is_removed(
    site_packages: Path,
) -> None:
    with pytest.raises(LookupError, match="no-such-service"):
        trim_botocore_data(site_packages, services=("dynamodb", "no-such-service"))
    assert (site_packages / "botocore" / "data" / "s3").is_dir()


def project_sources() -> dict[Path, str]:
    """Every Python module of the project: its own folders, not its environments'."""
    folders = [
        folder
        for folder in PROJECT.iterdir()
        if folder.is_dir() and not folder.name.startswith(".") and folder.name != "node_modules"
    ]
    return {path: path.read_text() for folder in folders for path in folder.rglob("*.py")}


def test_one_place_makes_aws_clients() -> None:
    """`storage.clients.aws_client`: so every client has the one timeout and retry policy,
    and the services it names are the ones the bundle keeps."""
    call = botocore.session.Session.create_client.__name__ + "("
    assert [path for path, text in project_sources().items() if call in text] == [
        PROJECT / "storage" / "clients.py"
    ]


def test_every_service_the_code_makes_a_client_for_is_kept() -> None:
    """A client for a trimmed service fails only when deployed: keep the list true."""
    source = "\n".join(
        text
        for path, text in project_sources().items()
        if path.relative_to(PROJECT).parts[0] in SERVICE_PACKAGES
    )
    named = set(re.findall(r'aws_client\(\s*"([a-z0-9-]+)"', source))
    assert named == CALLED_SERVICES
