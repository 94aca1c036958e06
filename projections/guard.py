"""The version guard every read model shares: apply each report's events once, in order.

Streams redeliver (so an event may arrive again) and order only within a report (so a later event may
arrive before an earlier one after a partial failure). A read model remembers the last version it applied
per report and asks `next_in_line` before applying one more.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from events.base import StoredEvent


class OutOfOrder(Exception):
    """An event arrived before its predecessor; failing it makes the stream redeliver both in order."""


def next_in_line(stored: StoredEvent, last_applied: int) -> bool:
    """True: apply it. False: already applied (a redelivery). Raises OutOfOrder when one is missing."""
    if stored.version <= last_applied:
        return False
    if stored.version != last_applied + 1:
        raise OutOfOrder(f"{stored.stream_id}: got v{stored.version} while at v{last_applied}")
    return True


class PartlyApplied(Exception):
    """A run of one report's events stopped part-way: `events[:done]` are in the read model (applied now or
    before), `events[done]` is the first that is not, and `cause` is why. The projector fails exactly the
    records from there on, so the stream redelivers them (and the guard skips what was already applied)."""

    def __init__(self, done: int, cause: BaseException) -> None:
        super().__init__(f"applied {done}, then: {cause}")
        self.done, self.cause = done, cause


@dataclass
class Folded:
    """One report's run folded in memory from what the read model had stored (`last`, `value`)."""

    value: Any  # the folded value (the stored one when nothing new was folded)
    last: int  # the version the stored value was at: the write is conditioned on it
    version: int  # the version after the fold (== last: nothing new to write)
    new: list[StoredEvent] = field(default_factory=list)  # the events folded now, in order
    stopped_at: int | None = None  # index in the run of the first event that could not be folded
    failure: BaseException | None = None
    size: int = 0  # events in the run
    start: int = 0  # index in the run of the first event folded now (the ones before were already applied)

    @property
    def done(self) -> int:
        """How many of the run's events are in the read model once the fold is written."""
        return self.stopped_at if self.stopped_at is not None else self.size

    def finish(self) -> int:
        """After a successful write: raise PartlyApplied if the fold stopped early; else the number applied."""
        if self.failure is not None:
            raise PartlyApplied(self.done, self.failure)
        return len(self.new)

    def unwritten(self, cause: BaseException) -> PartlyApplied:
        """The write failed (throttled, a network error): nothing folded now is in; what was before stays."""
        return PartlyApplied(self.start if self.new else self.done, cause)


def fold_run(events: Sequence[StoredEvent], last: int, value: Any,
             step: Callable[[Any, StoredEvent], Any]) -> Folded:
    """Fold a run of one report's events (version order) onto the stored `value` at version `last`, with the
    same rules `next_in_line` gives one event at a time: already applied ones are skipped, a gap stops the fold
    (OutOfOrder), and so does an event `step` cannot apply (a bug, bad data). What was folded before the stop
    is kept: it is written, and the run fails only from the stopping event on."""
    folded = Folded(value=value, last=last, version=last, size=len(events))
    for index, stored in enumerate(events):
        try:
            if not next_in_line(stored, folded.version):
                continue  # already applied (a redelivery), or a duplicate record of one just folded
            folded.value = step(folded.value, stored)
        except Exception as failure:  # noqa: BLE001 — kept with the fold, raised by finish() after the write
            folded.stopped_at, folded.failure = index, failure
            return folded
        if not folded.new:
            folded.start = index
        folded.version = stored.version
        folded.new.append(stored)
    return folded


def settled_by_another(events: Sequence[StoredEvent], latest: int, cause: BaseException) -> int:
    """A conditional write lost to a concurrent delivery that had reached `latest`: fine if that covers the
    whole run (returns 0 applied by us), else PartlyApplied from the first event it does not cover."""
    covered = sum(1 for stored in events if stored.version <= latest)
    if covered >= len(events):
        return 0
    raise PartlyApplied(covered, cause)


UNREAD: Any = object()  # project_run's `stored` when the caller has not read the item


def batch_get(client: Any, table: str, key_name: str, keys: Iterable[str],
              names: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Items by their (string) key, read consistently with BatchGetItem: one request per 100 keys, unprocessed
    keys asked again. `names`: a ProjectionExpression as {placeholder: attribute}, None for whole items."""
    keys, found = list(dict.fromkeys(keys)), {}
    names = names and {"#key": key_name} | names  # the key too: items are found by it
    projection = ({"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names} if names else {})
    for start in range(0, len(keys), 100):
        pending: dict[str, Any] = {table: {"Keys": [{key_name: {"S": k}} for k in keys[start:start + 100]],
                                           "ConsistentRead": True, **projection}}
        while pending:
            response = client.batch_get_item(RequestItems=pending)
            for item in response["Responses"].get(table, []):
                found[item[key_name]["S"]] = item
            pending = response.get("UnprocessedKeys") or {}
    return found


class RunProjection:
    """For read models that keep one item per report: `project_run` is the one implementation; `project` (one
    event: reproject, rebuild, tests) and `project_runs` (a stream batch: every report's item read with one
    BatchGetItem, then each report's run folded and written) are built on it."""

    def project_run(self, events: Sequence[StoredEvent], stored: Any = UNREAD) -> int:  # pragma: no cover
        raise NotImplementedError

    def read_many(self, report_ids: list[str]) -> dict[str, Any]:  # pragma: no cover — each read model's own
        """What `project_run` would read for each report (absent: no item yet), in as few requests as can be."""
        raise NotImplementedError

    def project(self, stored: StoredEvent) -> bool:
        """Apply one event exactly once; False when it had already been applied (a redelivery)."""
        try:
            return self.project_run([stored]) == 1
        except PartlyApplied as partly:
            raise partly.cause from None

    def project_runs(self, runs: Sequence[Sequence[StoredEvent]]) -> list[PartlyApplied | None]:
        try:
            items = self.read_many([run[0].stream_id for run in runs])
        except Exception as failure:  # noqa: BLE001 — nothing read, nothing written: every run fails whole
            return [PartlyApplied(0, failure) for _ in runs]
        outcomes: list[PartlyApplied | None] = []
        for run in runs:
            try:
                self.project_run(run, items.get(run[0].stream_id))
                outcomes.append(None)
            except PartlyApplied as partly:
                outcomes.append(partly)
            except Exception as failure:  # noqa: BLE001 — the write failed: none of the run is in
                outcomes.append(PartlyApplied(0, failure))
        return outcomes
