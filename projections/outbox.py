"""Notifications as a read model: the events someone must hear about become outbox messages.

Each message's id is (report, event version, recipient), and it is created with a create-only put, so a
redelivered event makes no second message. Texts are in Bahasa Indonesia with the tracking ID and the
deadline in the handling institution's local time. Messages name the reporter only by reference: the
phone or e-mail is looked up when sending, so an erasure also stops notifications.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from chalicelib.clock import parse_instant
from chalicelib.domain.deadlines import HOLD_DAYS, handling_zone
from chalicelib.domain.report import ReportState, evolve, state_from_json, state_to_json
from chalicelib.domain.vocabulary import Role
from chalicelib.domain.working_days import ZONES
from chalicelib.sms.text import sms_parts
from chalicelib.reference import ReferenceData
from events import report as e
from events.base import StoredEvent
from projections.guard import UNREAD, RunProjection, batch_get, fold_run, settled_by_another

ARCHIVE_REASON_NAMES = {"spam": "spam", "unclear": "isi laporan tidak jelas", "duplicate": "duplikat laporan lain",
                        "out_of_scope": "di luar cakupan LAPOR!", "no_reply": "tidak ada penjelasan dari pelapor"}
CLOCK_NAMES = {"verification": "verifikasi", "follow_up": "tindak lanjut pertama", "resolution": "penyelesaian"}
ROLE_NAMES = {Role.ADMIN_NASIONAL: "Admin Nasional", Role.ADMIN_INSTANSI: "Admin Instansi",
              Role.ADMIN_PENGHUBUNG: "Admin Penghubung"}


@dataclass(frozen=True)
class Recipient:
    kind: str  # reporter | staff | sms (a number that wrote to SMS 1708, by its contact key)
    reporter_ref: str | None = None
    role: str | None = None
    institution_id: str | None = None
    unit_id: str | None = None
    contact: str | None = None

    def key(self) -> str:
        if self.kind in ("reporter", "sms"):
            return self.kind
        return "/".join(filter(None, (self.role, self.institution_id, self.unit_id)))

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def addressed_key(scope: str) -> str:
    """The recipient index's partition of a staff scope (`Recipient.key()`)."""
    return f"staff#{scope}"


def local_time(instant: str, zone: str) -> str:
    """`Kamis 05-03-2026 17:00 WITA` style, as a citizen reads a deadline."""
    days = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
    local = parse_instant(instant).astimezone(ZONES[zone])
    return f"{days[local.weekday()]} {local:%d-%m-%Y %H:%M} {zone}"


def messages_for(stored: StoredEvent, state: ReportState, reference: ReferenceData) -> list[tuple[Recipient, str]]:
    """(recipient, text) pairs for one event, given the report's state including that event."""
    ev, rid = stored.event, stored.stream_id
    reporter = [Recipient("reporter", reporter_ref=state.reporter_ref)] if state.reporter_ref else []
    institution_id = state.institution_id or state.addressed_institution_id
    institution = reference.institution(institution_id) if institution_id else None
    name = institution.name if institution else "instansi terkait"
    zone = handling_zone(state, reference)
    when = lambda instant: local_time(instant, zone)  # noqa: E731
    out: list[tuple[Recipient, str]] = []
    if isinstance(ev, e.ReportPutOnHold):
        out += [(r, f"LAPOR! Laporan {rid} memerlukan penjelasan Anda: {ev.question[:300]} Balas paling lambat "
                    f"{HOLD_DAYS} hari kerja{' dengan membalas SMS ini' if state.channel == 'sms' else ''}.") for r in reporter]
    elif isinstance(ev, e.ReportClarified):
        out += [(r, f"LAPOR! Terima kasih, penjelasan Anda untuk laporan {rid} diterima. Laporan akan diverifikasi "
                    f"paling lambat {when(ev.verification_due)}.") for r in reporter]
    elif isinstance(ev, e.ReportSubmitted):
        out += [(r, f"LAPOR! Laporan Anda diterima. Nomor pelacakan: {rid}. Laporan akan diverifikasi paling "
                    f"lambat {when(ev.verification_due)}.") for r in reporter]
    elif isinstance(ev, e.ReportVerified):
        out += [(r, f"LAPOR! Laporan {rid} telah diverifikasi dan diteruskan ke {name}. Tindak lanjut pertama "
                    f"paling lambat {when(ev.follow_up_due)}.") for r in reporter]
        out.append((Recipient("staff", role=Role.ADMIN_INSTANSI, institution_id=ev.institution_id),
                    f"LAPOR! Laporan baru {rid} \"{ev.title}\" didisposisikan ke {name}. Tindak lanjut pertama "
                    f"paling lambat {when(ev.follow_up_due)}, penyelesaian {when(ev.resolution_due)}."))
    elif isinstance(ev, e.ReportRedisposed):
        out.append((Recipient("staff", role=Role.ADMIN_INSTANSI, institution_id=ev.institution_id),
                    f"LAPOR! Laporan {rid} didisposisikan ulang ke instansi Anda. Batas waktu tetap berjalan."))
    elif isinstance(ev, e.ReportReturned):  # bukan wewenang: the national admin must dispose it elsewhere
        out.append((Recipient("staff", role=Role.ADMIN_NASIONAL),
                    f"LAPOR! {name} mengembalikan laporan {rid} (bukan wewenang): {ev.reason[:200]} Mohon "
                    f"didisposisikan ulang."))
    elif isinstance(ev, e.AssignmentReturned):
        out.append((Recipient("staff", role=Role.ADMIN_INSTANSI, institution_id=institution_id),
                    f"LAPOR! Unit mengembalikan laporan {rid}: {ev.reason[:200]} Mohon ditugaskan ulang atau "
                    f"ditindaklanjuti."))
    elif isinstance(ev, e.ReportReopened):
        out.append((Recipient("staff", role=Role.ADMIN_INSTANSI, institution_id=institution_id),
                    f"LAPOR! Pelapor mengajukan keberatan atas jawaban laporan {rid}; laporan dibuka kembali. "
                    f"Tindak lanjut paling lambat {when(ev.follow_up_due)}."))
    elif isinstance(ev, e.ReportAssigned):
        out.append((Recipient("staff", role=Role.ADMIN_PENGHUBUNG, institution_id=institution_id,
                              unit_id=ev.unit_id),
                    f"LAPOR! Laporan {rid} \"{state.title}\" ditugaskan ke unit Anda. Mohon segera ditindaklanjuti."))
    elif isinstance(ev, e.FollowUpPosted):
        out += [(r, f"LAPOR! Ada tindak lanjut baru dari {name} atas laporan {rid}: {ev.message[:300]}")
                for r in reporter]
    elif isinstance(ev, e.ReportAnswered):
        out += [(r, f"LAPOR! {name} memberikan jawaban akhir atas laporan {rid}: {ev.message[:300]} Tanggapi "
                    f"(terima atau ajukan keberatan) paling lambat {when(ev.reply_due)}.") for r in reporter]
    elif isinstance(ev, e.ReminderSent):
        out.append((Recipient("staff", role=ev.recipient_role, institution_id=ev.recipient_institution_id,
                              unit_id=ev.recipient_unit_id),
                    f"LAPOR! PENGINGAT: batas waktu {CLOCK_NAMES.get(ev.clock, ev.clock)} laporan {rid} telah lewat "
                    f"({when(ev.due_at)}). Mohon segera ditindaklanjuti."))
    elif isinstance(ev, e.DeadlineEscalated):
        out.append((Recipient("staff", role=ev.to_role, institution_id=ev.to_institution_id),
                    f"LAPOR! ESKALASI tingkat {ev.level}: batas waktu {CLOCK_NAMES.get(ev.clock, ev.clock)} laporan "
                    f"{rid} terlewati sejak {when(ev.due_at)} dan belum ditangani."))
    elif isinstance(ev, e.ReportClosed):
        reason = "Anda menerima jawaban" if ev.reason == "accepted" else "tidak ada tanggapan dalam batas waktu"
        out += [(r, f"LAPOR! Laporan {rid} ditutup ({reason}). Terima kasih.") for r in reporter]
    elif isinstance(ev, e.ReportArchived):
        reason = ARCHIVE_REASON_NAMES.get(ev.reason, ev.reason)
        out += [(r, f"LAPOR! Laporan {rid} diarsipkan (alasan: {reason}).") for r in reporter]
    return out


def state_of(item: dict[str, Any] | None, report_id: str) -> ReportState:
    """The report's state kept in its `report#` item (an empty one before its first event)."""
    if item is None:
        return ReportState(report_id=report_id)
    if "state" in item:
        return state_from_json(json.loads(item["state"]["S"]))
    # Written before the outbox kept the aggregate's state: its few facts are all the texts need.
    old = json.loads(item["facts"]["S"])
    return ReportState(report_id=report_id, version=int(item["version"]["N"]), reporter_ref=old["reporter_ref"],
                       channel=old["channel"], title=old["title"], institution_id=old["institution_id"],
                       unit_id=old["unit_id"])


class Outbox(RunProjection):
    """The outbox table: messages plus, per report, the aggregate's state texts need (guarded by version)."""

    def __init__(self, table_name: str, *, client: Callable[[], Any], reference: ReferenceData) -> None:
        self._table, self._client, self._reference = table_name, client, reference

    def handles(self, stored: StoredEvent) -> bool:
        return stored.stream_id.startswith("LAP-")

    def read_many(self, report_ids: list[str]) -> dict[str, Any]:
        items = batch_get(self._client(), self._table, "message_id", [f"report#{rid}" for rid in report_ids])
        return {message_id.removeprefix("report#"): item for message_id, item in items.items()}

    def project_run(self, events: Sequence[StoredEvent], stored: Any = UNREAD) -> int:
        """A run of one report's events: one consistent GetItem of its `report#` item, `evolve` over them in
        memory, each event's messages created (create-only, so a redelivery makes none twice), then one put of
        the `report#` item conditioned on the version read. Messages go first: a crash between leaves the
        guard behind, and the redelivery finds the messages already there."""
        client, report_id = self._client(), events[0].stream_id
        key = {"message_id": {"S": f"report#{report_id}"}}
        item = client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item") if stored is UNREAD \
            else stored
        last = int(item["version"]["N"]) if item else 0
        messages: list[tuple[StoredEvent, Recipient, str, str]] = []

        def step(state: ReportState, stored: StoredEvent) -> ReportState:
            state = evolve(state, stored)
            found = [(stored, recipient, text,
                      "staff" if recipient.kind == "staff" else ("sms" if state.channel == "sms" else "email"))
                     for recipient, text in messages_for(stored, state, self._reference)]
            messages.extend(found)  # an event whose texts cannot be made adds none
            return state

        folded = fold_run(events, last, state_of(item, report_id), step)
        if folded.version > last:
            state = folded.value
            condition = ({"ConditionExpression": "attribute_not_exists(message_id)"} if last == 0 else
                         {"ConditionExpression": "version = :last",
                          "ExpressionAttributeValues": {":last": {"N": str(last)}}})
            try:
                for event, recipient, text, channel in messages:
                    self._create(client, f"{report_id}#{event.version:06d}#{recipient.key()}", report_id=report_id,
                                 event_type=event.type, recipient=recipient, channel=channel, text=text,
                                 created_at=event.occurred_at)
                client.put_item(TableName=self._table, Item=key | {"version": {"N": str(folded.version)},
                                                                   "state": {"S": json.dumps(state_to_json(state))}},
                                **condition)
            except client.exceptions.ConditionalCheckFailedException as exc:
                latest = client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
                return settled_by_another(events, int(latest["version"]["N"]) if latest else 0, exc)
            except Exception as exc:
                raise folded.unwritten(exc) from exc
        return folded.finish()

    def reply(self, message_id: str, *, report_id: str, contact: str, text: str, created_at: str,
              despite_stop: bool = False) -> None:
        """An SMS answer that records no event (help, CEK, STOP), keyed by the inbound message: a
        redelivered message makes no second answer. `despite_stop`: the confirmation of a STOP itself."""
        self._create(self._client(), message_id, report_id=report_id, event_type="SmsReply",
                     recipient=Recipient("sms", contact=contact), channel="sms", text=text, created_at=created_at,
                     despite_stop=despite_stop)

    def _create(self, client: Any, message_id: str, *, report_id: str, event_type: str, recipient: Recipient,
                channel: str, text: str, created_at: str, despite_stop: bool = False) -> None:
        """Create-only puts: a message that exists (an earlier delivery of the same event) stays as it is.
        An SMS longer than one message becomes numbered parts, each its own message sent exactly once."""
        parts = sms_parts(text) if channel == "sms" else [text]
        for number, part in enumerate(parts, start=1):
            part_id = message_id if len(parts) == 1 else f"{message_id}#{number}"
            item = {"message_id": {"S": part_id}, "report_id": {"S": report_id}, "event_type": {"S": event_type},
                    "recipient": {"S": json.dumps(recipient.to_dict())}, "channel": {"S": channel},
                    "text": {"S": part}, "status": {"S": "pending"}, "attempts": {"N": "0"},
                    "created": {"S": f"{created_at}#{part_id}"},
                    # due at once: "0" sorts before every instant, even for an event a simulated sweep dated ahead
                    "state_q": {"S": "pending"}, "next_attempt": {"S": f"0#{part_id}"}, "all_q": {"S": "all"}}
            if recipient.kind == "staff":
                item["to_q"] = {"S": addressed_key(recipient.key())}
            if despite_stop:
                item["despite_stop"] = {"BOOL": True}
            try:
                client.put_item(TableName=self._table, ConditionExpression="attribute_not_exists(message_id)",
                                Item=item)
            except client.exceptions.ConditionalCheckFailedException:
                pass  # created by an earlier delivery of the same event

    # ------------------------------------------------------------------ the sender's side

    def due(self, now: str, limit: int = 100) -> list[dict[str, Any]]:
        response = self._client().query(
            TableName=self._table, IndexName="by-state", Limit=limit,
            KeyConditionExpression="state_q = :pending AND next_attempt <= :now",
            ExpressionAttributeValues={":pending": {"S": "pending"}, ":now": {"S": now + "\uffff"}})
        return [_plain(item) for item in response.get("Items", [])]

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        response = self._client().query(TableName=self._table, IndexName="by-time", Limit=limit,
                                         KeyConditionExpression="all_q = :all", ScanIndexForward=False,
                                         ExpressionAttributeValues={":all": {"S": "all"}})
        return [_plain(item) for item in response.get("Items", [])]

    def addressed_to(self, scope: str, *, limit: int = 20,
                     start_key: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """The staff messages to one recipient scope (`Recipient.key()`), newest first: one Query a page, and
        the key to continue from (None at the end)."""
        arguments: dict[str, Any] = {"ExclusiveStartKey": start_key} if start_key else {}
        response = self._client().query(TableName=self._table, IndexName="by-recipient", Limit=limit,
                                         KeyConditionExpression="to_q = :to", ScanIndexForward=False,
                                         ExpressionAttributeValues={":to": {"S": addressed_key(scope)}},
                                         **arguments)
        return [_plain(item) for item in response.get("Items", [])], response.get("LastEvaluatedKey")

    def get(self, message_id: str) -> dict[str, Any] | None:
        item = self._client().get_item(TableName=self._table, Key={"message_id": {"S": message_id}},
                                       ConsistentRead=True).get("Item")
        return _plain(item) if item else None

    def claim(self, message_id: str, attempts: int, now: str, lease_until: str) -> bool:
        """Take the message for one send; only one sender wins a given attempt."""
        client = self._client()
        try:
            client.update_item(
                TableName=self._table, Key={"message_id": {"S": message_id}},
                ConditionExpression="state_q = :pending AND attempts = :n",
                UpdateExpression="SET attempts = :n1, next_attempt = :lease, #s = :sending, claimed_at = :now",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":pending": {"S": "pending"}, ":n": {"N": str(attempts)},
                                           ":n1": {"N": str(attempts + 1)}, ":sending": {"S": "sending"},
                                           ":lease": {"S": f"{lease_until}#{message_id}"}, ":now": {"S": now}})
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def mark_sent(self, message_id: str, attempt: int, now: str, gateway_id: str | None) -> None:
        self._settle(message_id, attempt, "SET #s = :sent, sent_at = :now, gateway_id = :gid REMOVE state_q, "
                     "next_attempt", {":sent": {"S": "sent"}, ":now": {"S": now}, ":gid": {"S": gateway_id or "-"}})

    def mark_suppressed(self, message_id: str, attempt: int, reason: str) -> None:
        """Not sent, on purpose (the number sent STOP): kept and visible, never sent."""
        self._settle(message_id, attempt, "SET #s = :suppressed, last_error = :e REMOVE state_q, next_attempt",
                     {":suppressed": {"S": "suppressed"}, ":e": {"S": reason[:500]}})

    def mark_failed(self, message_id: str, attempt: int, error: str, retry_at: str | None) -> None:
        """Retry at `retry_at`, or — None — move to the dead-letter state: kept, visible, never resent."""
        if retry_at is None:
            update, values = "SET #s = :dead, state_q = :dead, last_error = :e", {":dead": {"S": "dead"}}
        else:
            update, values = ("SET #s = :pending, state_q = :pending, next_attempt = :at, last_error = :e",
                              {":pending": {"S": "pending"}, ":at": {"S": f"{retry_at}#{message_id}"}})
        self._settle(message_id, attempt, update, values | {":e": {"S": error[:500]}})

    def _settle(self, message_id: str, attempt: int, update: str, values: dict[str, Any]) -> None:
        """Record the outcome of the attempt this sender claimed — unless its claim expired and another
        sender took the message meanwhile (then that sender's outcome is the one that counts)."""
        client = self._client()
        try:
            client.update_item(TableName=self._table, Key={"message_id": {"S": message_id}},
                               UpdateExpression=update, ConditionExpression="attempts = :mine",
                               ExpressionAttributeNames={"#s": "status"},
                               ExpressionAttributeValues=values | {":mine": {"N": str(attempt)}})
        except client.exceptions.ConditionalCheckFailedException:
            pass


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    plain = {name: (value["S"] if "S" in value else int(value["N"]) if "N" in value else
                    value["BOOL"] if "BOOL" in value else value)
             for name, value in item.items()}
    if "recipient" in plain:
        plain["recipient"] = json.loads(plain["recipient"])
    return plain
