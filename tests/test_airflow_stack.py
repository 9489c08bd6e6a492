"""The test harness's Airflow stack: its components must agree on what they share."""
from __future__ import annotations

import subprocess

from airflow_stack import BIN, airflow_stack


def test_every_component_of_a_stack_encrypts_with_one_fernet_key(pg_url):
    """A stack's scheduler, triggerer and API server start at once in a fresh AIRFLOW_HOME. A
    component that finds no airflow.cfg writes one with a Fernet key of its own; one that reads
    a half-written file gets none. The scheduler then encrypts a trigger's kwargs with one key
    and the triggerer cannot read them: its trigger runner dies and nothing is dialed."""
    with airflow_stack(pg_url) as stack:
        def fernet_key() -> str:
            (stack.home / "airflow.cfg").unlink(missing_ok=True)  # as a component starting first finds it
            done = subprocess.run([str(BIN / "airflow"), "config", "get-value", "core", "fernet_key"],
                                  env=stack.env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            return done.stdout.strip()

        first, second = fernet_key(), fernet_key()
        assert first and first == second
