"""The access policy as one table: every role × every relation to a report × every question it answers.

Letters: S sees the report, I sees the reporter's identity (report not anonymous), A sees it on an anonymous
report, V may verify, H is its institution admin, L is its unit's liaison. Q: the work queues it is in.
"""
from __future__ import annotations

import pytest

from chalicelib.auth import hash_token
from chalicelib.domain.access import (
    Exposure,
    Principal,
    Queue,
    can_see,
    is_institution_admin,
    is_unit_liaison,
    may_verify,
    queue_of,
    queues_for,
    sees_reporter_identity,
)
from chalicelib.domain.vocabulary import Status

TOKEN_HASH = hash_token("rpt_own")
SAMARINDA, BALIKPAPAN = "pemkot-samarinda", "pemkot-balikpapan"


def report(status: Status, *, institution: str | None = None, unit: str | None = None, addressed: str | None = None,
           confidential: bool = False) -> Exposure:
    return Exposure(status=status, institution_id=institution, unit_id=unit, addressed_institution_id=addressed,
                    confidential=confidential, region_code="64.72", access_token_hash=TOKEN_HASH)


REPORTS = {
    "submitted": report(Status.SUBMITTED),
    "addressed": report(Status.SUBMITTED, addressed=SAMARINDA),
    "disposed": report(Status.DISPOSED, institution=SAMARINDA),
    "assigned": report(Status.ASSIGNED, institution=SAMARINDA, unit="dinas-pupr"),
    "confidential": report(Status.ASSIGNED, institution=SAMARINDA, unit="dinas-pupr", confidential=True),
    "returned": report(Status.RETURNED),
    "archived": report(Status.ARCHIVED, institution=SAMARINDA),
}
PRINCIPALS = {
    "public": Principal(role="public"),
    "own reporter": Principal(role="reporter", report_token_hash=TOKEN_HASH),
    "other reporter": Principal(role="reporter", report_token_hash=hash_token("rpt_other")),
    "national admin": Principal(role="admin_nasional", user_id="n"),
    "samarinda admin": Principal(role="admin_instansi", user_id="s", institution_id=SAMARINDA),
    "balikpapan admin": Principal(role="admin_instansi", user_id="b", institution_id=BALIKPAPAN),
    "pupr liaison": Principal(role="admin_penghubung", user_id="p", institution_id=SAMARINDA, unit_id="dinas-pupr"),
    "other unit liaison": Principal(role="admin_penghubung", user_id="o", institution_id=SAMARINDA,
                                    unit_id="dinas-kesehatan"),
    "ombudsman": Principal(role="ombudsman", user_id="om"),
    "national supervisor": Principal(role="supervisor", user_id="sv"),
    "kaltim supervisor": Principal(role="supervisor", user_id="sk", region_code="64"),
    "kepri supervisor": Principal(role="supervisor", user_id="sr", region_code="21"),
    "auditor": Principal(role="auditor", user_id="a"),
}

#                     submitted addressed disposed assigned confidential returned archived
MATRIX = {
    "public":              ("",    "",    "S",   "S",   "",    "S",   ""),
    "own reporter":        ("SIA", "SIA", "SIA", "SIA", "SIA", "SIA", "SIA"),
    "other reporter":      ("",    "",    "S",   "S",   "",    "S",   ""),
    "national admin":      ("SIAV", "SIAV", "SIAV", "SIAV", "SIAV", "SIAV", "SIAV"),
    "samarinda admin":     ("",    "SIV", "SIH", "SIH", "SIH", "",    "SIH"),
    "balikpapan admin":    ("",    "",    "",    "",    "",    "",    ""),
    "pupr liaison":        ("",    "",    "",    "SIL", "SIL", "",    ""),
    "other unit liaison":  ("",    "",    "",    "",    "",    "",    ""),
    "ombudsman":           ("SI",  "SI",  "SI",  "SI",  "SI",  "SI",  "SI"),
    "national supervisor": ("S",   "S",   "S",   "S",   "S",   "S",   "S"),
    "kaltim supervisor":   ("S",   "S",   "S",   "S",   "S",   "S",   "S"),
    "kepri supervisor":    ("",    "",    "",    "",    "",    "",    ""),
    "auditor":             ("S",   "S",   "S",   "S",   "S",   "S",   "S"),
}


def answers(principal: Principal, exposure: Exposure) -> str:
    checks = (("S", can_see(principal, exposure)), ("I", sees_reporter_identity(principal, exposure, False)),
              ("A", sees_reporter_identity(principal, exposure, True)), ("V", may_verify(principal, exposure)),
              ("H", is_institution_admin(principal, exposure)), ("L", is_unit_liaison(principal, exposure)))
    return "".join(letter for letter, allowed in checks if allowed)


@pytest.mark.parametrize("who", list(MATRIX))
def test_the_access_matrix(who):
    got = tuple(answers(PRINCIPALS[who], exposure) for exposure in REPORTS.values())
    # Verifying is asked only of reports awaiting it; the aggregate checks the status separately.
    assert got == MATRIX[who], dict(zip(REPORTS, got))


#            national institution:samarinda unit:samarinda/dinas-pupr ombudsman
QUEUES = {
    "submitted": {"national"},
    "addressed": {"institution"},
    "disposed": {"institution"},
    "assigned": {"institution", "unit"},
    "confidential": {"institution", "unit"},
    "returned": {"national"},
    "archived": set(),
}


@pytest.mark.parametrize("name", list(QUEUES))
def test_the_queues_a_report_is_in_are_exactly_the_queues_of_whoever_works_on_it(name):
    exposure = REPORTS[name]
    queues = queues_for(status=exposure.status, institution_id=exposure.institution_id,
                        addressed_institution_id=exposure.addressed_institution_id, unit_id=exposure.unit_id,
                        escalated_to_ombudsman=False, neglected=False)
    assert {queue.kind for queue in queues} == QUEUES[name]
    owners = [who for who, principal in PRINCIPALS.items() if queue_of(principal) in queues]
    expected = {"national": ["national admin"], "institution": ["samarinda admin"], "unit": ["pupr liaison"]}
    assert owners == [owner for kind in ("national", "institution", "unit") if kind in QUEUES[name]
                      for owner in expected[kind]]
    for who in owners:  # nobody finds a report in their queue that they may not see
        assert can_see(PRINCIPALS[who], exposure), who


def test_an_escalated_or_neglected_report_joins_the_ombudsman_queue_and_a_closed_one_stays_with_its_handlers():
    def kinds(status: Status, **flags: bool) -> set[str]:
        return {q.kind for q in queues_for(status=status, institution_id=SAMARINDA, addressed_institution_id=None,
                                           unit_id="dinas-pupr", **({"escalated_to_ombudsman": False,
                                                                     "neglected": False} | flags))}
    assert kinds(Status.IN_PROGRESS, escalated_to_ombudsman=True) == {"institution", "unit", "ombudsman"}
    assert kinds(Status.ASSIGNED, neglected=True) == {"institution", "unit", "ombudsman"}
    assert kinds(Status.CLOSED) == {"institution", "unit"}  # in the "selesai" bucket
    assert queue_of(PRINCIPALS["ombudsman"]) == Queue("ombudsman", "ombudsman")


@pytest.mark.parametrize("who", ["public", "own reporter", "national supervisor", "auditor"])
def test_who_has_no_work_queue(who):
    assert queue_of(PRINCIPALS[who]) is None
