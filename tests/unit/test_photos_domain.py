"""Photos in the Report aggregate (who may attach, until when, how many, once each; the verifier marks an
anonymous report's photos safe), who may see them (`may_see_photo`), the ids, and the landing tickets."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain import commands as c
from chalicelib.domain.access import Exposure, Principal, may_see_photo
from chalicelib.domain.report import state_from_json, state_to_json
from chalicelib.errors import Forbidden, InvalidTransition, ReportNotFound, RuleViolated, Unauthenticated, ValidationFailed
from chalicelib.photos import tickets
from chalicelib.photos.attach import ATTACHMENT_ID, attachment_id_of, new_upload_id
from events import report as e
from events.registry import decode, encode
from tests.support.aggregate import (
    NOW,
    OMBUDSMAN,
    OTHER_REPORTER,
    REPORTER,
    RID,
    SUPERVISOR,
    accept,
    answer,
    archive,
    assign,
    closed,
    given,
    state_of,
    submit,
    then,
    verify,
    when,
)
from tests.support.principals import NATIONAL, PUBLIC, PUPR_LIAISON, SAMARINDA_ADMIN

SECRET = "test-token-secret-0123456789abcdef"


def photo(n: int = 1, **overrides) -> c.PhotoFacts:
    fields = dict(attachment_id=f"FOTO-{n:020d}", sha256=f"{n:064x}", size=1000 + n, content_type="image/jpeg",
                  width=640, height=480)
    return c.PhotoFacts(**(fields | overrides))


def attach(n: int = 1, principal: Principal = REPORTER, **overrides) -> c.AttachPhoto:
    return c.AttachPhoto(principal=principal, photo=photo(n, **overrides))


def attached(facts: c.PhotoFacts) -> e.PhotoAttached:
    return e.PhotoAttached(attachment_id=facts.attachment_id, sha256=facts.sha256, size=facts.size,
                           content_type=facts.content_type, width=facts.width, height=facts.height)


# ------------------------------------------------------------------------------------------ attaching

def test_a_submission_carrying_photos_records_them_after_the_report_in_one_decision():
    events = when([], submit(photos=(photo(1), photo(2))))

    assert [type(event) for event in events] == [e.ReportSubmitted, e.PhotoAttached, e.PhotoAttached]
    assert events[1:] == [attached(photo(1)), attached(photo(2))]
    assert state_of(given(submit(photos=(photo(1), photo(2))))).photos == (photo(1).attachment_id,
                                                                          photo(2).attachment_id)


def test_the_event_holds_only_facts_of_the_stored_copy():
    assert set(encode(attached(photo(1)))[2]) == {"attachment_id", "sha256", "size", "content_type", "width",
                                                         "height"}


@pytest.mark.parametrize("photos, field", [
    ((photo(1), photo(2), photo(3), photo(4)), "photo_upload_ids"),
    ((photo(1), photo(1)), "photo_upload_ids"),
    ((photo(1, content_type="image/gif"),), "photo_upload_ids"),
    ((photo(1, size=5 * 1024 * 1024 + 1),), "photo_upload_ids"),
])
def test_a_submission_with_too_many_repeated_or_invalid_photos_is_refused(photos, field):
    with pytest.raises(ValidationFailed) as refused:
        when([], submit(photos=photos))
    assert refused.value.details["field"] == field


def test_the_reporter_attaches_photos_while_the_report_is_open_at_most_three():
    history = given(submit(), attach(1))
    history = then(history, attach(2))
    assert state_of(then(history, attach(3))).photos == tuple(photo(n).attachment_id for n in (1, 2, 3))

    with pytest.raises(RuleViolated, match="at most 3"):
        when(then(history, attach(3)), attach(4))


def test_the_same_photo_is_attached_once():
    with pytest.raises(RuleViolated, match="already attached"):
        when(given(submit(), attach(1)), attach(1))


@pytest.mark.parametrize("history", [closed, lambda: given(submit(), archive("spam"))], ids=["closed", "archived"])
def test_no_photo_is_attached_to_a_finished_report(history):
    with pytest.raises(InvalidTransition) as refused:
        when(history(), attach(1))
    assert "menambahkan foto" in refused.value.pesan


def test_a_photo_can_be_attached_in_every_open_state():
    history = given(submit(), verify(), assign(), answer())
    assert when(history, attach(1)) == [attached(photo(1))]


@pytest.mark.parametrize("principal, error", [
    (PUBLIC, Unauthenticated), (OTHER_REPORTER, ReportNotFound), (NATIONAL, Forbidden),
    (SAMARINDA_ADMIN, ReportNotFound),
])
def test_only_the_reporter_attaches_photos(principal, error):
    with pytest.raises(error):
        when(given(submit()), attach(1, principal=principal))


# ------------------------------------------------------------------------------------------ marking safe

def test_the_verifier_marks_photos_safe_and_the_state_keeps_them():
    history = given(submit(anonymous=True, photos=(photo(1), photo(2))))

    [verified] = when(history, verify(safe_photo_ids=(photo(2).attachment_id,)))
    assert verified.safe_photo_ids == (photo(2).attachment_id,)
    assert state_of(then(history, verify(safe_photo_ids=(photo(2).attachment_id,)))).safe_photos == (
        photo(2).attachment_id,)


def test_only_this_reports_photos_can_be_marked_safe():
    with pytest.raises(ValidationFailed) as refused:
        when(given(submit(photos=(photo(1),))), verify(safe_photo_ids=(photo(9).attachment_id,)))
    assert refused.value.details["field"] == "safe_photo_ids"


def test_a_report_verified_before_photos_existed_reads_with_no_safe_photos():
    old = {"institution_id": "pemkot-samarinda", "title": "t", "category_id": "infrastruktur.jalan-rusak",
           "report_type": "complaint", "requires_inspection": False, "anonymous": True, "confidential": False,
           "follow_up_due": "2026-03-09T09:00:00.000Z", "resolution_due": "2026-03-27T09:00:00.000Z"}
    event = decode("ReportVerified", 1, old)
    assert event.safe_photo_ids == ()
    _, _, data = encode(event)
    assert decode("ReportVerified", 1, data) == event


def test_the_state_with_photos_survives_the_read_models_json():
    state = state_of(then(given(submit(anonymous=True, photos=(photo(1),))),
                          verify(safe_photo_ids=(photo(1).attachment_id,))))
    assert state_from_json(state_to_json(state)) == state
    older = state_to_json(state)
    del older["photos"], older["safe_photos"]  # a read model's state from before photos
    assert state_from_json(older).photos == ()


# ------------------------------------------------------------------------------------------ who sees them

def _exposure(status: str = "disposed", confidential: bool = False, token_hash: str | None = None) -> Exposure:
    return Exposure(status=status, institution_id="pemkot-samarinda", unit_id="dinas-pupr",
                    addressed_institution_id=None, confidential=confidential, region_code="64.72",
                    access_token_hash=token_hash or REPORTER.report_token_hash)


@pytest.mark.parametrize("principal, anonymous, safe, status, confidential, sees", [
    (PUBLIC, False, False, "disposed", False, True),
    (PUBLIC, False, False, "submitted", False, False),  # not verified: not public
    (PUBLIC, False, False, "disposed", True, False),  # confidential: never public
    (PUBLIC, True, False, "disposed", False, False),  # anonymous, not marked safe
    (PUBLIC, True, True, "disposed", False, True),
    (PUBLIC, True, True, "disposed", True, False),  # safe, but confidential
    (OTHER_REPORTER, True, False, "disposed", False, False),
    (REPORTER, True, False, "disposed", True, True),  # the reporter's own photos, always
    (NATIONAL, True, False, "disposed", False, True),  # the national admin may know the reporter
    (NATIONAL, True, False, "submitted", False, True),  # and verifies: judges the photos
    (SAMARINDA_ADMIN, True, False, "disposed", False, False),  # a handler of an anonymous report: not unsafe ones
    (SAMARINDA_ADMIN, True, True, "disposed", False, True),
    (SAMARINDA_ADMIN, False, False, "disposed", True, True),  # handlers see a confidential report's photos
    (PUPR_LIAISON, True, False, "disposed", False, False),
    (OMBUDSMAN, True, False, "disposed", False, False),
    (OMBUDSMAN, False, False, "disposed", True, True),
    (SUPERVISOR, True, False, "disposed", False, False),
])
def test_who_sees_a_photo(principal, anonymous, safe, status, confidential, sees):
    assert may_see_photo(principal, _exposure(status, confidential), anonymous=anonymous, safe=safe) is sees


def test_an_addressed_institutions_admin_sees_unsafe_photos_while_verifying_only():
    addressed = Exposure(status="submitted", institution_id=None, unit_id=None,
                         addressed_institution_id="pemkot-samarinda", confidential=False, region_code="64.72",
                         access_token_hash=None)
    assert may_see_photo(SAMARINDA_ADMIN, addressed, anonymous=True, safe=False)
    verified = Exposure(**{**addressed.__dict__, "status": "disposed", "institution_id": "pemkot-samarinda"})
    assert not may_see_photo(SAMARINDA_ADMIN, verified, anonymous=True, safe=False)


# ------------------------------------------------------------------------------------------ ids and tickets

def test_an_attachment_id_is_stable_per_upload_and_does_not_reveal_it():
    upload = new_upload_id()
    assert attachment_id_of(upload) == attachment_id_of(upload) != attachment_id_of(new_upload_id())
    assert ATTACHMENT_ID.fullmatch(attachment_id_of(upload)) and upload not in attachment_id_of(upload)


def test_a_ticket_is_good_for_its_report_and_upload_until_it_expires():
    upload = new_upload_id()
    ticket = tickets.issue(SECRET, RID, upload, NOW)

    assert tickets.check(SECRET, ticket, RID, NOW + timedelta(hours=1)).upload_id == upload
    with pytest.raises(ValidationFailed, match="expired"):
        tickets.check(SECRET, ticket, RID, NOW + timedelta(seconds=tickets.TICKET_SECONDS + 1))
    with pytest.raises(ValidationFailed, match="not valid"):
        tickets.check(SECRET, ticket, "LAP-ABCDEFGHJK", NOW)  # another report
    with pytest.raises(ValidationFailed, match="not valid"):
        tickets.check("another-secret-0123456789abcdef", ticket, RID, NOW)
    other_upload = ticket.replace(upload, new_upload_id())
    with pytest.raises(ValidationFailed, match="not valid"):
        tickets.check(SECRET, other_upload, RID, NOW)  # the upload id is bound by the MAC
    later = ticket.split(".")
    later[2] = str(int(later[2]) + 86400)
    with pytest.raises(ValidationFailed, match="not valid"):
        tickets.check(SECRET, ".".join(later), RID, NOW)  # so is the expiry
    for junk in (None, "", "x", ticket + "0"):
        with pytest.raises(ValidationFailed):
            tickets.check(SECRET, junk, RID, NOW)
