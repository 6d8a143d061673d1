"""The bundle's botocore trimming: DynamoDB alone stays, and nothing outside the bundle changes."""

import json
import os
import re
from pathlib import Path

import pytest

from bundle.build import SERVICE_PACKAGES
from bundle.trim_botocore import CALLED_SERVICES, trim_botocore_data
from local.paths import PROJECT

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


def test_every_service_the_code_makes_a_client_for_is_kept() -> None:
    """A client for a trimmed service fails only when deployed: keep the list true."""
    source = "\n".join(
        path.read_text()
        for package in SERVICE_PACKAGES
        for path in (PROJECT / package).rglob("*.py")
    )
    assert "create_client(" in source
    named = set(re.findall(r'create_client\(\s*"([a-z0-9-]+)"', source))
    # api/auth.py picks its service from the ARN: "secretsmanager" or "ssm".
    named |= set(re.findall(r'"(secretsmanager|ssm)"', (PROJECT / "api" / "auth.py").read_text()))
    assert named == CALLED_SERVICES
