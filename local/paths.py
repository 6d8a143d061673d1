"""Where the project's files are, for the tools that run it on one machine, its tests and
its benchmarks."""

from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
EVENTS = PROJECT / "events"  # one HTTP API event per function of the template
TEMPLATE = PROJECT / "template.yaml"
README = PROJECT / "README.md"
REQUIREMENTS = PROJECT / "requirements.txt"
