"""What each reader may see of a report view (DOMAIN §4–§5). Every read of a report goes through here."""
from __future__ import annotations

from typing import Any, Mapping

from chalicelib.domain.access import (
    Exposure,
    Principal,
    can_see,
    is_own_reporter,
    may_see_photo,
    sees_reporter_identity,
)
from chalicelib.domain.deadlines import display_zone
from chalicelib.reference import ReferenceData

_NEVER_SHOWN = ("access_token_hash", "state")  # the aggregate state the view keeps holds the token hash
_INTERNAL = ("reminders", "escalations", "neglected", "ombudsman_finding")  # staff workflow, not for citizens

def exposure_of(view: dict[str, Any]) -> Exposure:
    return Exposure.of(view)


def _strip_user_ids(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Staff user ids are internal; the public sees which institution acted, not which employee."""
    shown = []
    for entry in entries:
        entry = dict(entry)
        if "by" in entry:
            entry["by"] = {k: v for k, v in entry["by"].items() if k != "user_id"}
        shown.append(entry)
    return shown


def present_report(view: dict[str, Any] | None, principal: Principal) -> dict[str, Any] | None:
    """The report as this principal may see it, or None when for them it does not exist."""
    if view is None:
        return None
    exposure = exposure_of(view)
    if not can_see(principal, exposure):
        return None
    shown = {k: v for k, v in view.items() if k not in _NEVER_SHOWN}
    shown["photos"] = visible_photos(view, principal)
    if not sees_reporter_identity(principal, exposure, view["anonymous"]):
        shown.pop("reporter_ref", None)
    if principal.is_staff:
        return shown
    for key in _INTERNAL:
        shown.pop(key, None)
    if not is_own_reporter(principal, exposure):
        # What the reporter wrote after submitting (clarifications may answer "who are you?", objections
        # and escalation reasons may name people) is for the handlers, not the public.
        for key in ("hold", "replies", "objections", "ombudsman_escalation"):
            shown.pop(key, None)
        if shown.get("rating"):
            shown["rating"] = {"at": shown["rating"]["at"], "rating": shown["rating"]["rating"]}
        if view["anonymous"]:
            shown.pop("location", None)  # a precise location can identify an anonymous reporter
        for key in ("follow_ups", "returns"):
            shown[key] = _strip_user_ids(shown.get(key, []))
    return shown


def photo_path(report_id: str, attachment_id: str, *, thumbnail: bool = False) -> str:
    """The API route that answers a photo (302 to a short-lived presigned URL), as a path of this API."""
    return f"/reports/{report_id}/photos/{attachment_id}" + ("?size=thumb" if thumbnail else "")


def visible_photos(view: Mapping[str, Any], principal: Principal) -> list[dict[str, Any]]:
    """The report's photos this principal may see (`may_see_photo`), with the routes that answer them. From the
    view alone: listing photos costs no read beyond the report's own."""
    exposure, anonymous = exposure_of(dict(view)), bool(view.get("anonymous"))
    return [photo | {"url": photo_path(view["report_id"], photo["attachment_id"]),
                     "thumbnail_url": photo_path(view["report_id"], photo["attachment_id"], thumbnail=True)}
            for photo in view.get("photos", [])
            if may_see_photo(principal, exposure, anonymous=anonymous, safe=photo.get("safe", False))]


def find_photo(view: Mapping[str, Any] | None, attachment_id: str, principal: Principal) -> dict[str, Any] | None:
    """One photo of the report, if this principal may see it; None otherwise (answered 404, never 403)."""
    if view is None:
        return None
    return next((photo for photo in visible_photos(view, principal) if photo["attachment_id"] == attachment_id),
                None)


def zone_of(shown: Mapping[str, Any], reference: ReferenceData) -> str:
    """The zone a report, as presented, shows its times in (the web pages, Open311): `display_zone`."""
    return display_zone(shown.get("institution_id") or shown.get("addressed_institution_id"),
                        shown.get("region_code"), reference)
