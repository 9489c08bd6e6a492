"""Pacing across hosts against a real PostgreSQL: dialers whose clocks disagree by seconds
share one account's calls per second, spaced by the database's clock."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from outcall_provider.rules.pacing import COLD
from tests.stores import side_by_side

ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def send_log(hook):
    """Every slot booked, stamped by PostgreSQL itself as it is written: the ground truth of when
    each dialer was allowed to send, whatever the dialers' own clocks say. A booking is the
    newest slot of the row it writes; read() gives (slot, written) pairs."""
    with hook.db.cursor() as cur:
        cur.execute("create table pacing_test_log (slot timestamptz not null, written timestamptz not null)")
        cur.execute("create function pacing_test_log() returns trigger language plpgsql as $$ begin "
                    "insert into pacing_test_log select max(s), clock_timestamp() from unnest(new.recent_sends) s; "
                    "return new; end $$")
        cur.execute("create trigger pacing_test_log after update on outcall_pacing "
                    "for each row execute function pacing_test_log()")
    hook.db.commit()

    def read() -> list[tuple[datetime, datetime]]:
        with hook.db.cursor() as cur:
            cur.execute("select slot, written from pacing_test_log order by slot")
            rows = [(r[0], r[1]) for r in cur.fetchall()]
        hook.db.commit()
        return rows

    yield read
    with hook.db.cursor() as cur:
        cur.execute("drop trigger pacing_test_log on outcall_pacing")
        cur.execute("drop function pacing_test_log()")
        cur.execute("drop table pacing_test_log")
    hook.db.commit()


def sent_in_their_slots(taken: list[datetime], logged: list[tuple[datetime, datetime]], hosts: int) -> None:
    """Each moment pace() returned is a slot booked before it came, one per slot; each host's
    first slot is recorded COLD later (room for its slower first call); a booked slot nobody
    took is one its dialer woke too late for (rare, and more so on a busy machine)."""
    # booked before the slot came (a slot free at once: written just after the clock was read,
    # a commit's time later on a busy machine)
    assert all(written <= slot + timedelta(milliseconds=250) for slot, written in logged)
    slots = [slot for slot, _ in logged]
    assert all(mine.tzinfo is not None for mine in taken)
    assert all(mine in slots or mine + COLD in slots for mine in taken)
    assert sum(mine + COLD in slots for mine in taken) == hosts
    assert len(set(taken)) == len(taken) and len(slots) >= len(taken)


def skewed(seconds: float):
    return lambda: datetime.now(timezone.utc) + timedelta(seconds=seconds)


def most_in_one_second(sends: list[datetime]) -> int:
    sends = sorted(sends)
    return max(sum(1 for s in sends[i:] if s < start + timedelta(seconds=1)) for i, start in enumerate(sends))


def run_dialers(skews: list[float], cps: float, sends_each: int) -> list[datetime]:
    """One thread per host, each with its own connection and its own (wrong) clock."""
    taken: list[datetime] = []

    def host(store, skew: float) -> None:
        for _ in range(sends_each):
            taken.append(store.pace(ACCOUNT, cps, skewed(skew), time.sleep))

    side_by_side(host, skews)
    return taken


def test_hosts_with_skewed_clocks_never_exceed_the_rate(hook, send_log):
    taken = run_dialers([-3.0, 4.0, 0.0], cps=2, sends_each=4)
    logged = send_log()
    assert len(taken) == 12
    assert most_in_one_second([slot for slot, _ in logged]) <= 2, [s.isoformat() for s, _ in logged]
    # pace() answers with the database's moment of the send, not the host's skewed clock
    sent_in_their_slots(taken, logged, hosts=3)
    assert most_in_one_second(taken) <= 2


def test_a_fractional_rate_across_hosts_stays_below_it_in_every_second(hook, send_log):
    taken = run_dialers([-3.0, 4.0], cps=2.5, sends_each=4)
    logged = send_log()
    assert len(taken) == 8 and most_in_one_second([slot for slot, _ in logged]) <= 2
    sent_in_their_slots(taken, logged, hosts=2)
    assert most_in_one_second(taken) <= 2


def test_pacing_again_and_again_is_cheap_and_keeps_the_rate(hook, send_log):
    # what a dialer does when Twilio answers 429 and it paces before every retry of the create
    began = time.monotonic()
    taken = [hook.pace(ACCOUNT, 5, skewed(-60.0), time.sleep) for _ in range(15)]
    elapsed = time.monotonic() - began
    logged = send_log()
    assert most_in_one_second([slot for slot, _ in logged]) <= 5 and most_in_one_second(taken) <= 5
    sent_in_their_slots(taken, logged, hosts=1)
    assert 2.8 <= elapsed < 4.0  # 15 sends spread 200 ms apart (+ the first's room, the margin twice)
    assert taken[1] - taken[0] == COLD + timedelta(milliseconds=200)  # the hook's first call: cold
    assert taken == sorted(taken)


def test_a_dialer_that_wakes_too_late_gives_its_slot_up_and_books_another(hook, send_log):
    # the first call goes at once (and holds COLD more room); the second books the slot after
    # it, but its dialer oversleeps: it must not send late into the next calls' second
    first = hook.pace(ACCOUNT, 5, skewed(0.0), time.sleep)
    oversleeps = [0.3]

    def drowsy(s: float) -> None:
        time.sleep(s + (oversleeps.pop() if oversleeps else 0.0))

    taken = hook.pace(ACCOUNT, 5, skewed(0.0), drowsy)
    logged = [slot for slot, _ in send_log()]
    assert len(logged) == 3  # the first send, the slot slept through, the slot taken instead
    missed = first + COLD + timedelta(milliseconds=200)
    assert logged == [first + COLD, missed, taken] and taken > missed + timedelta(milliseconds=300)
    with hook.db.cursor() as cur:
        cur.execute("select recent_sends from outcall_pacing where account_sid = %s", (ACCOUNT,))
        assert cur.fetchone()[0] == [first + COLD, taken]  # the missed slot holds no one back
    hook.db.commit()
