"""Commands that `make local-api` and the tests take from Debian's packages when missing."""

import os
import shutil
import subprocess


def ensure_command(command: str, package: str) -> str:
    """The path of `command`, installing Debian's `package` first where it is missing (as root,
    without asking: CI has no standard input)."""
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")
    if found:
        return found
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        raise RuntimeError(f"`{command}` is missing: install Debian's `{package}` (or its like)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "--quiet", package]
    if subprocess.run(install, env=environment, check=False).returncode != 0:
        # A machine whose package lists were never fetched knows no package yet.
        subprocess.run(["apt-get", "update", "--quiet"], env=environment, check=True)
        subprocess.run(install, env=environment, check=True)
    found = shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError(f"`{package}` installed no `{command}`")
    return found
