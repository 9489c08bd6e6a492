"""Fixtures of the sandbox tests."""
import pytest
from sbtools import FAST, Receiver

from sandbox import Sandbox


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def sb():
    with Sandbox(cps=100, time_scale=FAST, seed=1, price_delay=0.2) as sandbox:
        yield sandbox
