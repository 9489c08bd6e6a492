"""The one pip command that installs outcall into an Airflow: the Dockerfile's `RUN pip install`
line. The install-as-a-user test runs that very line (with its two placeholders filled), so the
image and the test cannot drift apart.

(This folder has no __init__.py on purpose: a package named `packaging` on sys.path would
shadow the PyPI `packaging` that pip and Airflow import.)
"""
from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
AIRFLOW_PLACEHOLDER = "${AIRFLOW_VERSION}"  # set by the official image to its own Airflow version
WHEEL_GLOB = "airflow_provider_outcall-*.whl"


def dockerfile_install_args() -> list[str]:
    """The Dockerfile's `RUN pip install ...` line, split like a shell would (no expansion)."""
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines()]
    runs = [line for line in lines if re.match(r"RUN\s+pip\s+install\b", line)]
    assert len(runs) == 1, f"the Dockerfile must have exactly one `RUN pip install` line, found {runs}"
    assert not runs[0].endswith("\\"), "keep the Dockerfile's pip install on one line: the install test reads it"
    return shlex.split(runs[0])[1:]


def install_command(pip: str, airflow_version: str, wheel: Path) -> list[str]:
    """The Dockerfile's install line for a given pip, Airflow version and wheel file."""
    args = dockerfile_install_args()
    assert args[:2] == ["pip", "install"], args
    pinned = [a for a in args if AIRFLOW_PLACEHOLDER in a]
    wheels = [a for a in args if a.endswith(WHEEL_GLOB)]
    assert pinned == [f"apache-airflow=={AIRFLOW_PLACEHOLDER}"], \
        f"the install line must pin the image's own Airflow (apache-airflow=={AIRFLOW_PLACEHOLDER}): {args}"
    assert len(wheels) == 1, f"the install line must install the one outcall wheel ({WHEEL_GLOB}): {args}"
    out = [pip]
    for arg in args[1:]:
        if arg in pinned:
            arg = arg.replace(AIRFLOW_PLACEHOLDER, airflow_version)
        elif arg in wheels:
            arg = str(wheel)
        out.append(arg)
    return out


def docker_build_context(dest: Path) -> Path:
    """A copy of what .dockerignore lets into the image build: nothing (`*`) but its `!` lines."""
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    assert lines[0] == "*", "the .dockerignore starts by ignoring everything"
    for keep in [line[1:].rstrip("/") for line in lines if line.startswith("!")]:
        src, dst = ROOT / keep, dest / keep
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy(src, dst)
    return dest
