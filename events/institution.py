"""Events about institutions rather than reports (DOMAIN §8, §10)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from events.base import DomainEvent


@dataclass(frozen=True, kw_only=True)
class InstitutionIndicatorsRecorded(DomainEvent):
    """A supervisor's assessment of one institution for one year; the latest one counts."""

    event_type: ClassVar[str] = "InstitutionIndicatorsRecorded"
    institution_id: str
    year: int
    has_sk: bool  # a decree naming its complaint-handling team
    has_renaksi: bool  # an action plan submitted
    follow_up_quality: bool  # follow-ups match the substance of the reports


INSTITUTION_EVENTS = (InstitutionIndicatorsRecorded,)
