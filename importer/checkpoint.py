"""Where an import got to: the importer's checkpoint, one per source URL (so that one pair
of tables can follow several Prefect servers), kept in `storage.checkpoints` as a document
whose fields this module alone defines.
"""

from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta

from storage.checkpoints import CheckpointStore
from storage.repository import fixed_width_utc

# A run finished up to this long before a pass began may become visible only after it
# began: task-run states arrive through Prefect's events, stamped with the client's clock.
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every run that finished before `watermark` is copied (None: no pass has completed).

    A pass in progress (`pass_started` set) walks the listings `importer.passes.listings`
    gives for `watermark`; `step` is the listing it is in, `offset` how many runs of it are
    done. Each field is a claim true of the copy that wrote it, so that the last of two
    concurrent writers wins without losing anything: at worst work is done twice.
    """

    watermark: str | None = None
    pass_started: str | None = None
    step: int = 0
    offset: int = 0

    @property
    def in_pass(self) -> bool:
        return self.pass_started is not None

    def begin_pass(self, now: datetime) -> "Checkpoint":
        return replace(self, pass_started=fixed_width_utc(now), step=0, offset=0)

    def advanced(self, runs: int) -> "Checkpoint":
        return replace(self, offset=self.offset + runs)

    def next_listing(self) -> "Checkpoint":
        return replace(self, step=self.step + 1, offset=0)

    def pass_completed(self) -> "Checkpoint":
        assert self.pass_started is not None
        started = datetime.fromisoformat(self.pass_started)
        return Checkpoint(watermark=fixed_width_utc(started - OVERLAP))


class SourceCheckpoint:
    def __init__(self, store: CheckpointStore, source_url: str) -> None:
        """The checkpoint of `source_url`, kept in `store`."""
        self._store = store
        self._source_url = source_url

    def load(self) -> Checkpoint:
        document = self._store.load(self._source_url)
        return Checkpoint() if document is None else Checkpoint(**document)

    def save(self, checkpoint: Checkpoint) -> None:
        self._store.save(self._source_url, asdict(checkpoint))
