"""What Airflow and Docker read from the project: entry points, provider info, the wheel, the
Dockerfile and the compose file."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points, version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "packaging"))  # install_command: the Dockerfile's pip line
from install_command import docker_build_context, dockerfile_install_args, install_command  # noqa: E402


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


def test_the_version_is_written_once():
    from outcall_provider import __version__
    from outcall_provider.provider_info import get_provider_info

    assert get_provider_info()["versions"] == [__version__]
    assert version("airflow-provider-outcall") == __version__, "reinstall: pip install -e '.[test]'"
    assert "version" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dynamic"]
    assert f"## [{__version__}]" in (ROOT / "CHANGELOG.md").read_text(), "CHANGELOG.md has no entry for it"


def test_the_wheel_ships_sql_templates_and_static_files(tmp_path):
    """Built from the Docker build context alone (as the Dockerfile does): the store's SQL, the
    page and its static files are read from the installed package, so they must be in it."""
    context = docker_build_context(tmp_path / "context")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(context)],
                   check=True, capture_output=True, text=True, timeout=300)
    (wheel,) = tmp_path.glob("airflow_provider_outcall-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    package = ROOT / "plugins"
    for pattern in ("sql/queries/*.sql", "sql/migrations/*.sql", "api/templates/*", "api/static/*"):
        files = {p.relative_to(package).as_posix() for p in (package / "outcall_provider").glob(pattern)}
        assert files, pattern
        assert files <= shipped, f"missing from the wheel: {sorted(files - shipped)}"
    (metadata,) = [n for n in shipped if n.endswith(".dist-info/METADATA")]
    meta = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: Apache-2.0" in meta
    assert re.search(r"^Requires-Dist: apache-airflow<4,>=3\.", meta, re.M), "Airflow must be a range up to 4"


COMPOSE_SECRETS = ("AIRFLOW_DB_PASSWORD", "OUTCALL_DB_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET",
                   "AIRFLOW_API_SECRET_KEY", "AIRFLOW_ADMIN_PASSWORD", "OUTCALL_ASSISTANT_SECRET",
                   "OUTCALL_SANDBOX_AUTH_TOKEN")


# not secrets, but they change what the file resolves to: the tests set them when they mean to
COMPOSE_SWITCHES = ("AIRFLOW_EXECUTOR", "COMPOSE_PROFILES")


def compose(*args, secrets: dict[str, str], env: dict[str, str] | None = None):
    exe = shutil.which("docker-compose")
    assert exe, "docker-compose is installed by `make test` (apt package docker-compose)"
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS + COMPOSE_SWITCHES} | secrets | (env or {})
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


AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-init")


def resolved_compose(*args: str, env: dict[str, str] | None = None) -> dict:
    secrets = {name: f"test-{name.lower()}" for name in COMPOSE_SECRETS}
    out = compose(*args, "config", secrets=secrets, env=env)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def test_docker_compose_celery_profile():
    """LocalExecutor by default; AIRFLOW_EXECUTOR=CeleryExecutor with profile celery adds the redis
    broker and the worker (same image), flower under its own profile, as in Airflow's official file."""
    secrets = {name: f"test-{name.lower()}" for name in COMPOSE_SECRETS}
    for profiles in (["--profile", "celery"], ["--profile", "celery", "--profile", "flower"]):
        out = compose(*profiles, "config", "-q", secrets=secrets, env={"AIRFLOW_EXECUTOR": "CeleryExecutor"})
        assert out.returncode == 0, (profiles, out.stderr)
    default = resolved_compose()["services"]
    celery = resolved_compose("--profile", "celery", env={"AIRFLOW_EXECUTOR": "CeleryExecutor"})["services"]
    profiles = {name: service.get("profiles") for name, service in default.items() if service.get("profiles")}
    assert profiles == {"redis": ["celery"], "airflow-worker": ["celery"], "flower": ["flower"]}, profiles
    for name in AIRFLOW_SERVICES + ("airflow-worker", "flower"):
        assert default[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor", name
        env = celery[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379/" in env[
            "AIRFLOW__CELERY__BROKER_URL"], name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == "db+postgresql://airflow:test-airflow_db_password@postgres/airflow"
    worker = celery["airflow-worker"]
    assert worker["command"] in ("celery worker", ["celery", "worker"]), worker["command"]
    assert (worker["image"], worker["build"]["context"]) == (celery["airflow-init"]["image"],
                                                             celery["airflow-init"]["build"]["context"])
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "ports" not in celery["redis"], "the broker has no password: it must not be published"
    assert all(str(p.get("host_ip", p) if isinstance(p, dict) else p).startswith("127.0.0.1")
               for p in celery["flower"]["ports"]), "flower has no login: this machine only"


def test_every_airflow_service_runs_the_one_outcall_image():
    """Built once from ./Dockerfile; nothing is pip-installed when a container starts."""
    services = resolved_compose()["services"]
    images = {name: (services[name].get("image"), services[name].get("build", {}).get("context"))
              for name in AIRFLOW_SERVICES}
    assert len(set(images.values())) == 1, images
    image, context = images["airflow-init"]
    assert image and Path(context) == ROOT, images
    for name, service in services.items():
        command = " ".join(service.get("command") or []) if isinstance(service.get("command"), list) \
            else str(service.get("command") or "")
        assert "pip install" not in command, f"{name} installs packages at start; the image has them"
        assert "/opt/outcall" not in str(service.get("volumes")) or name == "sandbox", \
            f"{name} mounts the source tree; Airflow services use the installed wheel"


def test_airflow_init_stops_at_the_first_failure_and_sets_the_login():
    services = resolved_compose()["services"]
    script = services["airflow-init"]["command"][-1]
    assert script.lstrip().startswith("set -e"), script[:200]
    assert "pip " not in script
    env = services["airflow-apiserver"]["environment"]
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin", env
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"] in script, \
        "airflow-init must write the passwords file the API server reads"
    assert "AIRFLOW_ADMIN_PASSWORD" in script
    assert not [k for k in services["airflow-init"]["environment"] if k.startswith("_AIRFLOW_WWW_USER")], \
        "_AIRFLOW_WWW_USER_* only work with the FAB auth manager"
    readme = (ROOT / "README.md").read_text()
    login = readme[readme.index("### Run it with Docker Compose"):]
    assert "log in as `admin`" in login and "AIRFLOW_ADMIN_PASSWORD" in login, "README must say how to log in"


def test_the_dockerfile_installs_the_wheel_as_the_airflow_user_with_the_install_tests_command():
    text = (ROOT / "Dockerfile").read_text()
    test_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    (pinned,) = [r.split("==")[1] for r in test_extra if r.startswith("apache-airflow==")]
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages[-1] == f"apache/airflow:{pinned}-python3.11", (stages, "the image runs the tested Airflow")
    before_install = text[:text.index("RUN pip install")]
    users = re.findall(r"^USER (\S+)", before_install, re.M)
    assert users and users[-1] == "airflow", "the official image refuses pip as root: install as `airflow`"
    args = dockerfile_install_args()
    # what tests/packaging/test_install_as_user.py runs is this line with its two placeholders filled
    command = install_command("/venv/bin/pip", "3.9.9", Path("/w/airflow_provider_outcall-9.9.9-py3-none-any.whl"))
    assert command == ["/venv/bin/pip", *[a.replace("${AIRFLOW_VERSION}", "3.9.9")
                                          .replace("/tmp/dist/airflow_provider_outcall-*.whl",
                                                   "/w/airflow_provider_outcall-9.9.9-py3-none-any.whl")
                                          for a in args[1:]]], (command, args)
