"""Named SQL files shipped inside the package: queries/NAME.sql and migrations/NNN_*.sql.

Loaded with importlib.resources, so an installed provider (a wheel, no source tree) has them.
"""
from __future__ import annotations

import functools
from importlib.resources import files


@functools.cache
def query(name: str) -> str:
    return files(__name__).joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")


def migrations() -> list[tuple[str, str]]:
    folder = files(__name__).joinpath("migrations")
    found = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text(encoding="utf-8")) for f in found]
