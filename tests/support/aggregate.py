"""Given/when/then for the Report aggregate tests (tests/unit/test_report_*.py): the clock, the cast, command
builders and stories.

Histories are built through the real commands: every step runs `decide` on the replayed state and wraps
the result with `chain_events`, exactly as the application does, so a history is always one the system
itself could have written.

The clock is fixed at Monday 2 March 2026, 02:00 UTC = 09:00 WIB = 10:00 WITA. Samarinda (the institution
most tests dispose to) is WITA, so its 17:00 deadlines are 09:00Z; the national admin works in WIB, so
17:00 WIB is 10:00Z. 18–24 March 2026 are not working days (Nyepi, Idul Fitri and their cuti bersama), and
3 April 2026 is Good Friday: some expected deadlines below cross them on purpose.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.auth import hash_token
from chalicelib.domain import commands as c
from chalicelib.domain.access import Principal
from chalicelib.domain.report import Context, ReportState, decide, replay
from chalicelib.domain.working_days import default_calendar
from chalicelib.reference import load_reference
from chalicelib.store.base import chain_events
from events.base import DomainEvent, StoredEvent
from tests.support.builders import submit_command, verify_command
from tests.support.principals import NATIONAL, PUPR_LIAISON, SAMARINDA_ADMIN, reporter

UTC = timezone.utc

# Monday 2 March 2026, 09:00 WIB / 10:00 WITA: an ordinary working morning.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RID = "LAP-7K3M9QX2RT"
TOKEN = "rpt_the-reporters-own-secret"

# Besides the shared cast (tests/support/principals.py: NATIONAL n1, SAMARINDA_ADMIN i1, PUPR_LIAISON l1, PUBLIC):
KALTIM_ADMIN = Principal(role="admin_instansi", user_id="i2", institution_id="pemprov-kaltim")
KOMINFO_LIAISON = Principal(role="admin_penghubung", user_id="l2", institution_id="pemkot-samarinda",
                            unit_id="dinas-kominfo")
# Same unit id, other institution: Kaltim province also has a "dinas-pupr".
KALTIM_PUPR_LIAISON = Principal(role="admin_penghubung", user_id="l3", institution_id="pemprov-kaltim",
                                unit_id="dinas-pupr")
REPORTER = reporter(TOKEN)
OTHER_REPORTER = reporter("rpt_somebody-elses-token")
OMBUDSMAN = Principal(role="ombudsman", user_id="o1")
SUPERVISOR = Principal(role="supervisor", user_id="s1")
SYSTEM = Principal(role="system", user_id="lapor-system")

# Deadlines for a report submitted / verified / answered at NOW unless said otherwise (worked by hand):
# Mon 2 Mar + 3 WD = Thu 5 Mar, 17:00 WIB = 10:00Z (national admin) or 17:00 WITA = 09:00Z (Samarinda).
VERIFICATION_DUE_WIB = "2026-03-05T10:00:00.000Z"
VERIFICATION_DUE_WITA = "2026-03-05T09:00:00.000Z"
# Mon 2 Mar + 5 WD = 3, 4, 5, 6, 9 Mar -> Mon 9 Mar 17:00 WITA.
FOLLOW_UP_DUE = "2026-03-09T09:00:00.000Z"
SHORT_RESOLUTION_DUE = "2026-03-09T09:00:00.000Z"  # aspiration / information request: 5 WD
# Mon 2 Mar + 14 WD = 3-6 (4), 9-13 (9), 16-17 (11), [18-24 off], 25, 26, 27 (14) -> Fri 27 Mar 17:00 WITA.
# Without the Nyepi / Idul Fitri days it would have been Fri 20 Mar.
COMPLAINT_RESOLUTION_DUE = "2026-03-27T09:00:00.000Z"
# Mon 2 Mar + 60 WD, skipping 18-24 Mar, 3 Apr, 1 May, 14-15 May, 27-28 May, 1 Jun:
# Mar 16 WD, Apr 21 (37), May 16 (53), Jun 2-5 (57), 8, 9, 10 (60) -> Wed 10 Jun 17:00 WITA.
INSPECTION_RESOLUTION_DUE = "2026-06-10T09:00:00.000Z"
# The final answer in the stories below comes on Tue 10 Mar 02:00Z (10:00 WITA):
# + 10 WD = 11, 12, 13 (3), 16, 17 (5), [18-24 off], 25, 26, 27 (8), 30, 31 (10) -> Tue 31 Mar 17:00 WITA.
ANSWERED_AT = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
REPLY_DUE = "2026-03-31T09:00:00.000Z"
REPLY_DUE_INSTANT = datetime(2026, 3, 31, 9, 0, tzinfo=UTC)
RESOLUTION_DUE_INSTANT = datetime(2026, 3, 27, 9, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


# ---------------------------------------------------------------------------------------------- helpers

def ctx(at: datetime = NOW) -> Context:
    return Context(at, default_calendar(), load_reference())


def when(history: list[StoredEvent], command: c.Command, at: datetime = NOW) -> list[DomainEvent]:
    """Run one command against the state replayed from `history`; returns the new domain events."""
    return decide(replay(RID, history), command, ctx(at))


def then(history: list[StoredEvent], command: c.Command, at: datetime = NOW) -> list[StoredEvent]:
    """`when`, then chain the new events onto the history as the application would store them."""
    new = when(history, command, at)
    channel = command.channel if isinstance(command, c.SubmitReport) else "web"
    stored = chain_events(RID, history[-1] if history else None, new, actor=command.principal.actor(),
                          channel=channel, now=at, correlation_id=f"corr-{len(history) + 1}", causation_id=None)
    return history + stored


def given(*steps: c.Command | tuple[c.Command, datetime]) -> list[StoredEvent]:
    """A history built by running each command (at NOW, or at the instant paired with it)."""
    history: list[StoredEvent] = []
    for step in steps:
        command, at = step if isinstance(step, tuple) else (step, NOW)
        history = then(history, command, at)
    return history


def state_of(history: list[StoredEvent]) -> ReportState:
    return replay(RID, history)


def submit(**overrides) -> c.SubmitReport:
    return submit_command(**(dict(body="Lubang besar di depan pasar, sudah dua bulan tidak diperbaiki.",
                                  reporter_ref="ref-0001", access_token_hash=hash_token(TOKEN),
                                  location={"lat": -0.5022, "lon": 117.1536}) | overrides))


def hold(principal: Principal = NATIONAL, question: str = "Di titik mana tepatnya lubang itu?") -> c.HoldReport:
    return c.HoldReport(principal=principal, question=question)


def reply(principal: Principal = REPORTER, message: str = "Di depan Pasar Segiri.") -> c.ReplyToReport:
    return c.ReplyToReport(principal=principal, message=message)


def verify(principal: Principal = NATIONAL, **overrides) -> c.VerifyReport:
    return verify_command(principal, **overrides)


def archive(reason: str, duplicate_of: str | None = None, note: str | None = None,
            principal: Principal = NATIONAL) -> c.ArchiveReport:
    return c.ArchiveReport(principal=principal, reason=reason, duplicate_of=duplicate_of, note=note)


def assign(unit_id: str = "dinas-pupr", principal: Principal = SAMARINDA_ADMIN) -> c.AssignReport:
    return c.AssignReport(principal=principal, unit_id=unit_id)


def give_back(principal: Principal, reason: str = "Bukan kewenangan kami.") -> c.ReturnReport:
    return c.ReturnReport(principal=principal, reason=reason)


def redispose(institution_id: str = "pemprov-kaltim", principal: Principal = NATIONAL) -> c.RedisposeReport:
    return c.RedisposeReport(principal=principal, institution_id=institution_id)


def follow_up(principal: Principal = PUPR_LIAISON, message: str = "Tim sudah meninjau lokasi.") -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message=message, final=False)


def answer(principal: Principal = PUPR_LIAISON, message: str = "Jalan sudah ditambal.") -> c.PostFollowUp:
    return c.PostFollowUp(principal=principal, message=message, final=True)


def accept(principal: Principal = REPORTER, rating: int = 5, comment: str | None = "Terima kasih.") -> c.AcceptResolution:
    return c.AcceptResolution(principal=principal, rating=rating, comment=comment)


def object_to(principal: Principal = REPORTER, reason: str = "Lubangnya masih ada.") -> c.ObjectToResolution:
    return c.ObjectToResolution(principal=principal, reason=reason)


def escalate(principal: Principal = REPORTER, reason: str = "Tidak ditangani.") -> c.EscalateToOmbudsman:
    return c.EscalateToOmbudsman(principal=principal, reason=reason)


# Stories: the report at each point of the lifecycle, all reached through real commands.

def submitted(**overrides) -> list[StoredEvent]:
    return given(submit(**overrides))


def on_hold() -> list[StoredEvent]:
    return given(submit(), hold())


def disposed(**verify_overrides) -> list[StoredEvent]:
    return given(submit(), verify(**verify_overrides))


def assigned() -> list[StoredEvent]:
    return given(submit(), verify(), assign())


def in_progress() -> list[StoredEvent]:
    return given(submit(), verify(), assign(), follow_up())


def answered(at: datetime = ANSWERED_AT, **submit_overrides) -> list[StoredEvent]:
    return given(submit(**submit_overrides), verify(), assign(), follow_up(), (answer(), at))


def returned() -> list[StoredEvent]:
    return given(submit(), verify(), give_back(SAMARINDA_ADMIN))


def closed() -> list[StoredEvent]:
    return given(submit(), verify(), assign(), follow_up(), (answer(), ANSWERED_AT),
                 (accept(), ANSWERED_AT + timedelta(days=1)))


def archived() -> list[StoredEvent]:
    return given(submit(), archive("spam"))
