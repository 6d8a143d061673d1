"""Trim botocore's data to the services the functions call.

botocore ships a description of every AWS service (about 440 folders, 28 MB), and creating
any client lists those folders and parses the 1.25 MB `endpoints.json` of every service.
The functions create a DynamoDB client, and a Secrets Manager or SSM one where the auth
string is kept there: everything else is dead weight in the bundle and in each cold start.
`python -m bundle.trim_botocore SITE_PACKAGES` trims a bundle's copy in place; never run it
on a development environment's site-packages.
"""

import argparse
import json
import shutil
from collections.abc import Collection
from pathlib import Path

from storage.clients import SERVICES as CALLED_SERVICES


def trim_botocore_data(site_packages: Path, services: Collection[str] = CALLED_SERVICES) -> None:
    """Keep only `services` among botocore's service models and endpoint descriptions.

    The shared files (`partitions.json`, `_retry.json`, `sdk-default-configuration.json`)
    and every partition of `endpoints.json` stay: only other services' entries go.
    """
    data = site_packages / "botocore" / "data"
    missing = set(services) - {entry.name for entry in data.iterdir()}
    if missing:
        raise LookupError(f"botocore in {site_packages} has no data for {sorted(missing)}")
    for entry in data.iterdir():
        if entry.is_dir() and entry.name not in services:
            shutil.rmtree(entry)
    endpoints_file = data / "endpoints.json"
    endpoints = json.loads(endpoints_file.read_text())
    for partition in endpoints["partitions"]:
        partition["services"] = {
            name: description
            for name, description in partition["services"].items()
            if name in services
        }
    # A new file replaces the old one: installers hard-link files from their cache, and
    # writing through such a link would trim every environment sharing it.
    trimmed = endpoints_file.with_suffix(".trimmed")
    trimmed.write_text(json.dumps(endpoints, separators=(",", ":")))
    trimmed.replace(endpoints_file)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site_packages", type=Path, help="the bundle's folder holding botocore")
    trim_botocore_data(parser.parse_args().site_packages)


if __name__ == "__main__":
    main()
