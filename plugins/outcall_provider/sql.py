"""Named SQL files from include/sql/ (queries/NAME.sql, migrations/NNN_*.sql)."""
from __future__ import annotations

import functools
import os
from pathlib import Path


def sql_dir() -> Path:
    # The repo keeps SQL beside the DAGs in include/sql; an installed copy can point elsewhere.
    return Path(os.environ.get("OUTCALL_SQL_DIR") or Path(__file__).resolve().parents[2] / "include" / "sql")


@functools.cache
def query(name: str) -> str:
    return (sql_dir() / "queries" / f"{name}.sql").read_text()


def migrations() -> list[tuple[str, str]]:
    files = sorted((sql_dir() / "migrations").glob("*.sql"))
    return [(f.stem, f.read_text()) for f in files]
