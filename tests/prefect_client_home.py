"""Import first, before Prefect: Prefect reads its settings from the environment when it is
imported, so a test module using Prefect's client gives it a home of its own (never the
user's profile), no server of its own, and nothing of the user's settings."""

import os
import tempfile

_PREFECT_HOME = tempfile.TemporaryDirectory(prefix="prefect-home-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME.name
os.environ["PREFECT_PROFILES_PATH"] = os.path.join(_PREFECT_HOME.name, "profiles.toml")
os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "false"
for _variable in (
    "PREFECT_PROFILE",
    "PREFECT_API_URL",
    "PREFECT_API_KEY",
    "PREFECT_API_AUTH_STRING",
):
    os.environ.pop(_variable, None)
