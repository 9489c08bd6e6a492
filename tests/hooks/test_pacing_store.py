"""Pacing across hosts against a real PostgreSQL: dialers whose clocks disagree by seconds
share one account's calls per second, spaced by the database's clock."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from tests.stores import side_by_side

ACCOUNT = "AC" + "0" * 32


@pytest.fixture
def send_log(hook):
    """Every slot taken, stamped by PostgreSQL itself as it is written: the ground truth of when
    each dialer was allowed to send, whatever the dialers' own clocks say."""
    with hook.db.cursor() as cur:
        cur.execute("create table pacing_test_log (at timestamptz not null)")
        cur.execute("create function pacing_test_log() returns trigger language plpgsql as $$ begin "
                    "insert into pacing_test_log values (clock_timestamp()); return new; end $$")
        cur.execute("create trigger pacing_test_log after update on outcall_pacing "
                    "for each row execute function pacing_test_log()")
    hook.db.commit()

    def read() -> list[datetime]:
        with hook.db.cursor() as cur:
            cur.execute("select at from pacing_test_log order by at")
            rows = [r[0] for r in cur.fetchall()]
        hook.db.commit()
        return rows

    yield read
    with hook.db.cursor() as cur:
        cur.execute("drop trigger pacing_test_log on outcall_pacing")
        cur.execute("drop function pacing_test_log()")
        cur.execute("drop table pacing_test_log")
    hook.db.commit()


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
    assert len(logged) == 12
    assert most_in_one_second(logged) <= 2, [t.isoformat() for t in logged]
    # pace() answers with the database's moment of the send, not the host's skewed clock
    for mine, db in zip(sorted(taken), logged):
        assert mine.tzinfo is not None and abs(mine - db) < timedelta(milliseconds=100)
    assert most_in_one_second(taken) <= 2


def test_a_fractional_rate_across_hosts_stays_below_it_in_every_second(hook, send_log):
    run_dialers([-3.0, 4.0], cps=2.5, sends_each=4)
    logged = send_log()
    assert len(logged) == 8 and most_in_one_second(logged) <= 2


def test_pacing_again_and_again_is_cheap_and_keeps_the_rate(hook, send_log):
    # what a dialer does when Twilio answers 429 and it paces before every retry of the create
    began = time.monotonic()
    taken = [hook.pace(ACCOUNT, 5, skewed(-60.0), time.sleep) for _ in range(15)]
    elapsed = time.monotonic() - began
    logged = send_log()
    assert most_in_one_second(logged) <= 5 and most_in_one_second(taken) <= 5
    assert abs(taken[-1] - logged[-1]) < timedelta(milliseconds=100)
    assert 2.8 <= elapsed < 4.0  # 15 sends spread 200 ms apart (+ the margin twice), little time lost
    assert taken == sorted(taken)
