"""What Airflow and Docker read from the project: entry points, provider info, compose file."""
from __future__ import annotations

import os
import shutil
import subprocess
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_provider_entry_point_describes_the_twilio_connection():
    (ep,) = [e for e in entry_points(group="apache_airflow_provider") if e.value.startswith("outcall_provider")]
    info = ep.load()()
    assert info["package-name"] == "airflow-provider-outcall"
    assert info["connection-types"][0]["connection-type"] == "twilio"
    assert set(info["connection-types"][0]["conn-fields"]) == {"base_url", "calls_per_second", "callback_base_url",
                                                               "min_balance", "http_timeout"}


def test_plugin_entry_point_loads():
    (ep,) = [e for e in entry_points(group="airflow.plugins") if e.name == "outcall"]
    assert ep.load().name == "outcall"


def test_console_script_is_installed():
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "outcall"]
    assert ep.value == "outcall_provider.cli:main"


COMPOSE_SECRETS = ("AIRFLOW_DB_PASSWORD", "OUTCALL_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
                   "AIRFLOW_API_SECRET_KEY", "_AIRFLOW_WWW_USER_PASSWORD", "OUTCALL_ASSISTANT_SECRET",
                   "OUTCALL_SANDBOX_AUTH_TOKEN")


def compose(*args, secrets: dict[str, str]):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is installed by `make test` (apt package docker-compose)"
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS} | secrets
    return subprocess.run([exe, "-f", str(ROOT / "docker-compose.yml"), *args],
                          capture_output=True, text=True, cwd=ROOT, env=env)


def test_docker_compose_file_is_valid():
    secrets = {name: f"test-{name.lower()}" for name in COMPOSE_SECRETS}
    out = compose("config", "-q", secrets=secrets)
    assert out.returncode == 0, out.stderr
    services = compose("config", "--services", secrets=secrets).stdout.split()
    assert {"postgres", "outcall-db", "sandbox", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "airflow-init"} <= set(services)
    resolved = compose("config", secrets=secrets).stdout
    for name, value in secrets.items():
        assert value in resolved, name


def test_docker_compose_has_no_default_secret():
    """Every secret comes from the environment: without one, compose refuses and names it."""
    every = {name: f"test-{name.lower()}" for name in COMPOSE_SECRETS}
    for missing in COMPOSE_SECRETS:
        out = compose("config", "-q", secrets={k: v for k, v in every.items() if k != missing})
        assert out.returncode != 0 and f"set {missing}" in out.stderr, (missing, out.stderr)
    text = (ROOT / "docker-compose.yml").read_text()
    assert "change-me" not in text and "sandbox-token" not in text and "FERNET_KEY: ''" not in text
