"""The version guard every read model shares: apply each report's events once, in order.

Streams redeliver (so an event may arrive again) and order only within a report (so a later event may
arrive before an earlier one after a partial failure). A read model remembers the last version it applied
per report and asks `next_in_line` before applying one more.
"""
from __future__ import annotations

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
