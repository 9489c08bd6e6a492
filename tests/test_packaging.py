"""What Airflow and Docker read from the project: entry points, provider info, compose file."""
from __future__ import annotations

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
    assert set(info["conn-fields"]["twilio"]) == {"base_url", "calls_per_second", "callback_base_url"}


def test_plugin_entry_point_loads():
    (ep,) = [e for e in entry_points(group="airflow.plugins") if e.name == "outcall"]
    assert ep.load().name == "outcall"


def test_console_script_is_installed():
    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "outcall"]
    assert ep.value == "outcall_provider.cli:main"


def test_docker_compose_file_is_valid():
    compose = shutil.which("docker-compose")
    assert compose, "docker-compose is installed by `make test` (apt package docker-compose)"
    out = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    services = subprocess.run([compose, "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
                              capture_output=True, text=True, cwd=ROOT).stdout.split()
    assert {"postgres", "outcall-db", "sandbox", "airflow-apiserver", "airflow-scheduler",
            "airflow-dag-processor", "airflow-triggerer", "airflow-init"} <= set(services)
