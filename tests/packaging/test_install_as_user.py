"""Install outcall the way a data team does, and use it.

Build the wheel, make a fresh virtualenv, install Airflow in it (as the official image has it),
then run the Dockerfile's own `pip install` line with the wheel. Everything then runs from that
venv with the working directory outside the repo and a clean environment (no PYTHONPATH, a
temporary AIRFLOW_HOME), so only what the wheel ships can be found: provider, plugin,
connection type, the README's DAG file over a campaign folder, `outcall db migrate` and
`outcall import-leads`, and the Campaigns page with its static files in `airflow api-server`.

It runs against the oldest Airflow pyproject.toml allows and against the test pin, so the
floor we publish is a version this test has installed into.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import psycopg
import pytest
from airflow_stack import ADMIN, free_port, wait_healthy
from install_command import docker_build_context, install_command

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CAMPAIGNS = ROOT / "include" / "campaigns"


def _airflow_requirement(requirements: list[str], op: str) -> str:
    (found,) = [m for r in requirements if (m := re.fullmatch(rf"apache-airflow{op}([\d.]+)(,<4)?", r))]
    return found.group(1)


FLOOR = _airflow_requirement(PYPROJECT["project"]["dependencies"], ">=")
PINNED = _airflow_requirement(PYPROJECT["project"]["optional-dependencies"]["test"], "==")


def readme_dag_file() -> str:
    """The DAG file README's "Add outcall to your Airflow" tells people to drop into dags/."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(# dags/outcall_campaigns\.py.*?)```", readme, re.S)
    assert len(blocks) == 1, "README must show the DAG file once: a python block starting `# dags/outcall_campaigns.py`"
    return blocks[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # Built from a copy of what the image build sees, not in the tree: a build in the tree leaves
    # plugins/*.egg-info, which Airflow would then find as a second outcall distribution.
    out = tmp_path_factory.mktemp("wheel")
    source = docker_build_context(tmp_path_factory.mktemp("source"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
                   check=True, capture_output=True, text=True, timeout=300)
    (whl,) = out.glob("airflow_provider_outcall-*.whl")
    return whl


class UserVenv:
    """A fresh virtualenv with Airflow and the wheel, and the clean environment a user's shell has."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root, self.env = root, env
        self.bin = root / "venv" / "bin"

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        out = subprocess.run([str(self.bin / args[0]), *args[1:]], cwd=self.root, env=self.env,
                             capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, f"`{' '.join(args)}` failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
        return out

    def json(self, *args: str):
        """A CLI answer in JSON: its last line (Airflow may log warnings to stdout before it)."""
        out = self.run(*args, "--output", "json").stdout
        return json.loads(out.strip().splitlines()[-1])


def _database(pg_url: str, name: str) -> str:
    """A database of our own in the session cluster: the other tests' Airflow metadata is at
    another Airflow version, and their campaign store must not see our leads."""
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        conn.execute(f"drop database if exists {name} with (force)")
        conn.execute(f"create database {name}")
    return f"{pg_url}/{name}"


@pytest.fixture(scope="module", params=[FLOOR, PINNED], ids=lambda v: f"airflow-{v}")
def user_venv(request, wheel, pg_url, tmp_path_factory):
    version = request.param
    root = tmp_path_factory.mktemp(f"user-airflow-{version}")
    suffix = version.replace(".", "_")
    (root / "home").mkdir()
    dags, campaigns = root / "dags", root / "campaigns"
    dags.mkdir()
    (dags / "outcall_campaigns.py").write_text(readme_dag_file())
    campaigns.mkdir()
    for name in ("example.yaml", "example.csv"):
        shutil.copy(CAMPAIGNS / name, campaigns / name)
    metadata = _database(pg_url, f"user_airflow_{suffix}")
    env = {
        "PATH": f"{root / 'venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root / "home"),
        "LANG": "C.UTF-8",
        # the developer's pip cache, so a run downloads only what changed
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
        "AIRFLOW_HOME": str(root / "airflow-home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata.replace("postgresql://", "postgresql+psycopg://", 1),
        "OUTCALL_CAMPAIGNS_DIR": str(campaigns),
        "AIRFLOW_CONN_OUTCALL_DB": _database(pg_url, f"user_outcall_{suffix}"),
    }
    venv = UserVenv(root, env)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    # what the official image already has: Airflow itself (from the pip cache after the first run)
    venv.run("pip", "install", "-q", f"apache-airflow=={version}", timeout=600)
    out = subprocess.run(install_command(str(venv.bin / "pip"), version, wheel), cwd=root, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"the Dockerfile's pip install line failed:\n{out.stdout}\n{out.stderr}"
    venv.run("airflow", "db", "migrate")
    yield venv
    shutil.rmtree(root / "venv", ignore_errors=True)  # ~0.5 GB each


def test_the_wheel_runs_without_the_source_tree(user_venv):
    out = user_venv.run("python", "-c", "import outcall_provider, sys; print(outcall_provider.__file__, sys.path)")
    assert str(user_venv.root / "venv") in out.stdout.splitlines()[0], out.stdout
    assert str(ROOT) not in out.stdout, f"the source tree leaked onto sys.path:\n{out.stdout}"


def test_airflow_lists_the_provider_and_its_twilio_connection_type(user_venv):
    from outcall_provider import __version__

    providers = {p["package_name"]: p["version"] for p in user_venv.json("airflow", "providers", "list")}
    assert providers.get("airflow-provider-outcall") == __version__, providers
    hooks = {h["connection_type"]: h for h in user_venv.json("airflow", "providers", "hooks")}
    assert "twilio" in hooks, f"no `twilio` connection type in `airflow providers hooks`: {sorted(hooks)}"
    assert hooks["twilio"]["class"] == "outcall_provider.hooks.twilio.TwilioHook", hooks["twilio"]
    assert hooks["twilio"]["package_name"] == "airflow-provider-outcall", hooks["twilio"]
    # the connection form: Airflow reads conn-fields from the connection type's entry
    from outcall_provider.provider_info import get_provider_info

    (twilio,) = get_provider_info()["connection-types"]
    fields = {w["connection_parameter_name"] for w in user_venv.json("airflow", "providers", "widgets")
              if w["package_name"] == "airflow-provider-outcall"}
    assert fields == {f"extra__twilio__{name}" for name in twilio["conn-fields"]}, fields


def test_airflow_loads_the_plugin_from_the_installed_distribution(user_venv):
    plugins = {p["name"]: p for p in user_venv.json("airflow", "plugins")}
    assert "outcall" in plugins, f"`airflow plugins` does not show outcall: {sorted(plugins)}"
    outcall = plugins["outcall"]
    assert outcall["source"].startswith("airflow-provider-outcall=="), outcall["source"]
    assert [v["href"] for v in outcall["external_views"]] == ["/outcall/"], outcall
    assert {a["url_prefix"] for a in outcall["fastapi_apps"]} == {"/outcall", "/outcall/webhooks"}, outcall


def test_the_readme_dag_file_turns_a_campaign_file_into_a_dag(user_venv):
    dags = user_venv.json("airflow", "dags", "list", "--local")
    assert "campaign_example" in {d["dag_id"] for d in dags}, dags
    errors = user_venv.json("airflow", "dags", "list-import-errors", "--local")
    assert errors == [], errors


def test_the_outcall_cli_migrates_the_store_and_imports_leads(user_venv):
    user_venv.run("outcall", "db", "migrate")
    user_venv.run("outcall", "db", "migrate")  # a second migrate changes nothing and does not fail
    campaigns = Path(user_venv.env["OUTCALL_CAMPAIGNS_DIR"])
    out = user_venv.run("outcall", "import-leads", "example", str(campaigns / "example.csv"))
    rows = sum(1 for _ in open(campaigns / "example.csv")) - 1
    assert re.search(rf"\bimported[: ]+{rows}\b", out.stdout), f"expected {rows} leads imported:\n{out.stdout}"
    status = user_venv.run("outcall", "status", "example")
    assert "created" in status.stdout, status.stdout


def test_the_campaigns_page_and_its_static_files_answer_in_the_api_server(user_venv):
    port = free_port()
    home = Path(user_venv.env["AIRFLOW_HOME"])
    (home / "passwords.json").write_text(json.dumps({ADMIN[0]: ADMIN[1]}))
    env = user_venv.env | {
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN[0]}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
        "AIRFLOW__API_AUTH__JWT_SECRET": "outcall-install-test-jwt-secret-0123456789",
        "AIRFLOW__API__SECRET_KEY": "outcall-install-test-secret-key",
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = open(user_venv.root / "api-server.log", "wb")
    server = subprocess.Popen([str(user_venv.bin / "airflow"), "api-server", "--host", "127.0.0.1", "--port",
                               str(port), "--workers", "1"], cwd=user_venv.root, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server, user_venv.root / "api-server.log")
        token = httpx.post(f"{url}/auth/token", json={"username": ADMIN[0], "password": ADMIN[1]}, timeout=30)
        assert token.status_code in (200, 201), token.text
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        page = httpx.get(f"{url}/outcall/", headers=auth, timeout=30)
        assert page.status_code == 200 and "campaigns.js" in page.text, (page.status_code, page.text[:500])
        source = ROOT / "plugins" / "outcall_provider" / "api"
        for name in ("campaigns.js", "campaigns.css"):
            static = httpx.get(f"{url}/outcall/static/{name}", headers=auth, timeout=30)
            assert static.status_code == 200, (name, static.status_code)
            assert static.text == (source / "static" / name).read_text(), f"{name} differs from the source"
        campaigns = httpx.get(f"{url}/outcall/api/v1/campaigns", headers=auth, timeout=30)
        assert campaigns.status_code == 200, campaigns.text
        assert httpx.get(f"{url}/outcall/", timeout=30).status_code in (401, 403), "the page needs a login"
        plugins = httpx.get(f"{url}/api/v2/plugins", headers=auth, timeout=30).json()["plugins"]
        (outcall,) = [p for p in plugins if p["name"] == "outcall"]
        assert [v["name"] for v in outcall["external_views"]] == ["Campaigns"], outcall
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # its own process group: the workers stop too
            server.wait(timeout=30)
        log.close()
