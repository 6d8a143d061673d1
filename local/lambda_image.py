"""A Lambda-like python3.12 base image for `sam local` where AWS's cannot be pulled, built from
Debian's packages and this machine's CPython, once: it is reused while its recipe is unchanged.

- the root file system: `debootstrap --variant=minbase` of this machine's Debian release, with
  the shared libraries Python's own extension modules load;
- `/var/lang`: the CPython running this module (its `sys.base_prefix`), less what a function
  never imports (the test suite, Tk, IDLE) and less its site-packages;
- `/var/runtime`: AWS's runtime interface client, `awslambdaric`, from PyPI, and the
  `bootstrap` that SAM's emulator (aws-lambda-rie) starts: `python -m awslambdaric $_HANDLER`;
- the environment Lambda gives a python3.12 function, then `docker import`.

The tag ends in a hash of this file and of the Python copied, so a changed recipe or Python
builds a new image and an unchanged one is never built twice.
"""

import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bundle.build import LAMBDA_PYTHON, UV
from local.debian_packages import ensure_command
from local.docker_engine import DockerError, docker

IMAGE_REPOSITORY = "prefect-run-states/lambda-python"
AWS_LAMBDA_RIC = "awslambdaric==4.2.2"
# What the extension modules in lib-dynload link to beyond minbase (ldd, then dpkg -S).
PYTHON_LIBRARIES = ("libffi8", "libsqlite3-0", "libssl3", "libncursesw6", "libnsl2")
LEFT_OUT_OF_PYTHON = ("test", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages")
LEFT_OUT_OF_DEBIAN = (
    "var/cache/apt/archives",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/locale",
)
PYTHON = f"python{'.'.join(map(str, LAMBDA_PYTHON))}"
BOOTSTRAP = f"""#!/bin/sh
# Started by the Lambda runtime emulator: the runtime interface client on the function's handler.
exec /var/lang/bin/{PYTHON} -m awslambdaric "$_HANDLER"
"""
# As on Lambda: the function's code first, then its layers' Python packages, then the runtime.
ENVIRONMENT = {
    "PATH": "/var/lang/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LD_LIBRARY_PATH": "/var/lang/lib",
    "LANG": "C.UTF-8",
    "TZ": ":UTC",
    "LAMBDA_TASK_ROOT": "/var/task",
    "LAMBDA_RUNTIME_DIR": "/var/runtime",
    "PYTHONPATH": f"/var/task:/opt/python/lib/{PYTHON}/site-packages:/opt/python:/var/runtime",
}


def offline_image_tag() -> str:
    recipe = hashlib.sha256(Path(__file__).read_bytes())
    recipe.update(f"{sys.version} {sys.base_prefix}".encode())
    return (
        f"{IMAGE_REPOSITORY}:{LAMBDA_PYTHON[0]}.{LAMBDA_PYTHON[1]}-{platform.machine()}-"
        + (recipe.hexdigest()[:12])
    )


def offline_image() -> str:
    """The image's tag, once it exists: built now if no image has it."""
    tag = offline_image_tag()
    try:
        docker("image", "inspect", "--format", "{{.Id}}", tag)
    except DockerError:
        build_offline_image(tag)
        _remove_older_images(tag)
    return tag


def _remove_older_images(tag: str) -> None:
    """Older recipes' images, each the size of a Python and a Debian."""
    for image in docker(
        "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", IMAGE_REPOSITORY
    ).split():
        if image != tag:
            try:
                docker("image", "rm", image)
            except DockerError:  # still used by a container, or by an image SAM built on it
                continue


def build_offline_image(tag: str) -> None:
    if sys.version_info[:2] != LAMBDA_PYTHON:
        raise RuntimeError(f"the image copies the running Python, which must be {PYTHON}")
    debootstrap = ensure_command("debootstrap", "debootstrap")
    with tempfile.TemporaryDirectory(prefix="lambda-image-") as scratch:
        root = Path(scratch) / "root"
        subprocess.run(
            [
                *(debootstrap, "--variant=minbase", f"--include={','.join(PYTHON_LIBRARIES)}"),
                *(_debian_release(), str(root)),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for path in LEFT_OUT_OF_DEBIAN:
            shutil.rmtree(root / path, ignore_errors=True)
        _add_python(root)
        _add_runtime(root)
        _import(root, tag)


def _debian_release() -> str:
    """This machine's release (the Python copied is built against its libraries)."""
    for line in Path("/etc/os-release").read_text().splitlines():
        name, _, value = line.partition("=")
        if name == "VERSION_CODENAME" and value:
            return value.strip('"')
    raise RuntimeError("the offline image is built on Debian: /etc/os-release names no release")


def _add_python(root: Path) -> None:
    library = Path(sys.base_prefix) / "lib" / PYTHON
    shutil.copytree(
        sys.base_prefix,
        root / "var/lang",
        symlinks=True,
        ignore=lambda folder, names: (
            [name for name in names if name in LEFT_OUT_OF_PYTHON]
            if Path(folder) == library
            else [name for name in names if name.startswith("_tkinter")]
        ),
    )
    (root / "var/lang/lib" / PYTHON / "site-packages").mkdir()


def _add_runtime(root: Path) -> None:
    runtime = root / "var/runtime"
    subprocess.run(
        [
            *(UV, "pip", "install", "--quiet", "--target", str(runtime), AWS_LAMBDA_RIC),
            *("--python", sys.executable, "--only-binary", ":all:", "--link-mode", "copy"),
        ],
        check=True,
    )
    bootstrap = runtime / "bootstrap"
    bootstrap.write_text(BOOTSTRAP)
    bootstrap.chmod(0o755)
    for folder in ("var/task", "opt"):
        (root / folder).mkdir(parents=True, exist_ok=True)


def _import(root: Path, tag: str) -> None:
    changes = [f"ENV {name}={value}" for name, value in ENVIRONMENT.items()]
    changes += ["WORKDIR /var/task", 'ENTRYPOINT ["/var/runtime/bootstrap"]']
    tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "import", *(f"--change={change}" for change in changes), "-", tag],
        stdin=tar.stdout,
        stdout=subprocess.DEVNULL,
        check=True,
    )
    tar.stdout.close()  # type: ignore[union-attr]
    if tar.wait() != 0:
        raise RuntimeError("tar could not read the image's root file system")
