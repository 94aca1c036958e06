"""Decisions about institutions (DOMAIN §8): supervisors record SK, Renaksi and follow-up quality."""
from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.access import Principal
from chalicelib.domain.vocabulary import Role, province_of
from chalicelib.errors import Forbidden, UnknownReference, ValidationFailed
from chalicelib.reference import ReferenceData
from events.base import DomainEvent
from events.institution import InstitutionIndicatorsRecorded

FIRST_YEAR, LAST_YEAR = 2015, 2100


def stream_id(institution_id: str) -> str:
    return f"INST-{institution_id}"


@dataclass(frozen=True, kw_only=True)
class RecordInstitutionIndicators:
    principal: Principal
    institution_id: str
    year: int
    has_sk: bool
    has_renaksi: bool
    follow_up_quality: bool


def decide_indicators(command: RecordInstitutionIndicators, reference: ReferenceData) -> list[DomainEvent]:
    principal = command.principal
    if principal.role != Role.SUPERVISOR:
        raise Forbidden("only supervisors record institution indicators",
                        "hanya supervisor yang mencatat indikator instansi")
    institution = reference.institution(command.institution_id)
    if institution is None:
        raise UnknownReference("institution", command.institution_id)
    if principal.region_code and province_of(institution.region_code) != principal.region_code:
        raise Forbidden("this institution is outside the supervisor's province",
                        "instansi ini di luar provinsi supervisor")
    if not FIRST_YEAR <= command.year <= LAST_YEAR:
        raise ValidationFailed(f"year must be {FIRST_YEAR}..{LAST_YEAR}", "tahun tidak sah", field="year")
    return [InstitutionIndicatorsRecorded(institution_id=command.institution_id, year=command.year,
                                          has_sk=command.has_sk, has_renaksi=command.has_renaksi,
                                          follow_up_quality=command.follow_up_quality)]
