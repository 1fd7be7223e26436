"""The deployment files: docker/compose.yaml is consistent, and docker/Dockerfile's install and entry
commands work — run in a clean virtualenv, since no Docker engine runs here.

The slow test copies the build context as .dockerignore filters it, runs the Dockerfile's `RUN … pip
install …` line with the image's paths mapped to temporary ones, then the image's ENTRYPOINT with the
migration service's command (`db upgrade`) and with its own CMD (`run`, webhook mode, against the
simulator), and the HEALTHCHECK command while the bot runs. It needs the package index (skips without).
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
CONFIG_SOURCE = (ROOT / "bot" / "config.py").read_text()
PINTU_SERVICES = {"migrate", "bot", "dispatcher", "registry"}


# --- the Dockerfile, read as Docker reads it (enough of it: instructions, continuations, JSON forms) ------

def instructions(path: Path = DOCKER / "Dockerfile") -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, comments dropped and continuation lines joined."""
    joined, current = [], ""
    for line in path.read_text().splitlines():
        if line.strip().startswith("#") and not current:
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            joined.append(current.strip())
        current = ""
    result = []
    for line in joined:
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def exec_form(arguments: str) -> list[str]:
    return json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def test_the_dockerfile_builds_a_slim_non_root_image_without_secrets_or_compilers() -> None:
    steps = instructions()
    froms = [args for word, args in steps if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: build, then runtime"
    assert all(re.match(r"python:3\.1[1-9][\w.-]*-slim", args.split()[0]) for args in froms), froms
    runtime = final_stage()
    users = [args for word, args in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert any(word == "HEALTHCHECK" for word, _ in runtime)
    assert any(word == "COPY" and args.startswith("--from=") for word, args in runtime)
    # Nothing but the virtualenv comes over: no compiler installed, no source tree, no secret value.
    text = (DOCKER / "Dockerfile").read_text()
    assert not re.search(r"apt-get install|build-essential|gcc", text)
    for word, args in steps:
        if word in ("ENV", "ARG"):
            assert not re.search(r"(TOKEN|SECRET|PASSWORD|DATABASE_URL)\s*=", args), args
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed_out in (".git", ".venv", ".env", "tests", "*.db"):
        assert needed_out in ignored


# --- compose ---------------------------------------------------------------------------------------------

def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed to read docker/compose.yaml (add pyyaml to the test extra)")
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_wires_database_migration_bot_dispatcher_and_registry() -> None:
    spec = compose()
    services = spec["services"]
    assert {"db", "migrate", "bot", "dispatcher", "registry"} <= set(services)
    for name, service in services.items():
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert condition["condition"] in ("service_started", "service_healthy", "service_completed_successfully")
    # PostgreSQL keeps its data in a named volume and says when it is ready.
    db = services["db"]
    assert any(v.split(":")[0] in spec["volumes"] and v.endswith("/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    # Migrations run once, before anything that uses the schema.
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["restart"] == "no"
    for name in ("bot", "dispatcher", "registry"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
    registry = services["registry"]
    assert registry["command"][:2] == ["registry", "serve"]
    # The reference registry is health-checked on the port it serves, and keeps its data in a volume.
    port = registry["command"][registry["command"].index("--port") + 1]
    assert registry["healthcheck"]["test"] == ["CMD", "python", "-m", "bot.healthcheck", f"http://127.0.0.1:{port}/healthz"]
    database = registry["command"][registry["command"].index("--database") + 1]
    assert any(v.split(":")[0] in spec["volumes"] and database.removeprefix("sqlite:///").startswith(v.split(":")[1])
               for v in registry["volumes"]), "the registry's database lives in a named volume"
    # Logs are JSON lines in every Pintu container.
    for name in ("bot", "dispatcher", "registry"):
        assert services[name]["environment"]["PINTU_LOG_FORMAT"] == "json"
    # The bot takes updates by webhook; the dispatcher only sends; both are health-checked.
    assert services["bot"]["environment"]["PINTU_MODE"] == "webhook"
    assert services["bot"]["environment"]["PINTU_ROLE"] == "bot"
    assert services["dispatcher"]["environment"]["PINTU_ROLE"] == "dispatcher"
    for name in ("bot", "dispatcher"):
        assert services[name]["healthcheck"]["test"][-2:] == ["-m", "bot.healthcheck"]
        assert "PINTU_METRICS_LISTEN" in services[name]["environment"]
    # Every Pintu setting named in compose or the env template is one bot/config.py reads; no secret
    # value is written in compose itself.
    names = set()
    for name in PINTU_SERVICES:
        names |= set(services[name].get("environment") or {})
    template = (DOCKER / "pintu.env.example").read_text()
    names |= {line.split("=", 1)[0] for line in template.splitlines() if "=" in line and not line.startswith("#")}
    names -= {"POSTGRES_PASSWORD"}  # PostgreSQL's, interpolated into the db service
    unknown = sorted(n for n in names if f'"{n}"' not in CONFIG_SOURCE)
    assert not unknown, f"not read by bot/config.py: {unknown}"
    for name in PINTU_SERVICES:
        for key in (services[name].get("environment") or {}):
            assert not re.search(r"TOKEN|SECRET|PASSWORD", key), f"{key} belongs in pintu.env"
    assert services["bot"]["env_file"] == "pintu.env"


# --- the image's commands in a clean virtualenv --------------------------------------------------------

def image_env() -> dict[str, str]:
    found: dict[str, str] = {}
    for word, args in final_stage():
        if word == "ENV":
            found.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    return found


def test_every_bot_and_dispatcher_shares_one_media_volume_outside_tmp() -> None:
    """A photo stored by any bot container is read by the dispatcher and survives restarts."""
    media = image_env()["PINTU_MEDIA_DIR"]
    assert media.startswith("/") and not media.startswith("/tmp"), "not relative to the tmpfs working dir"
    services = compose()["services"]
    for name in ("bot", "dispatcher"):
        mounts = services[name].get("volumes", [])
        assert f"media:{media}" in mounts, (name, mounts)
        assert "PINTU_MEDIA_DIR" not in (services[name].get("environment") or {}), "one place sets it: the image"
    assert "media" in compose()["volumes"]
    runtime = "\n".join(args for word, args in final_stage() if word == "RUN")
    assert media in runtime and "chown" in runtime, "the unprivileged user owns the media folder"


def copy_context(target: Path) -> None:
    """The build context as Docker would send it: the repository minus .dockerignore's patterns."""
    patterns = [p.rstrip("/") for p in (ROOT / ".dockerignore").read_text().split() if not p.startswith("#")]

    def ignored(relative: str) -> bool:
        return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(relative, p.removeprefix("**/"))
                   or fnmatch.fnmatch(Path(relative).name, p.removeprefix("**/")) for p in patterns)

    for path in ROOT.rglob("*"):
        relative = path.relative_to(ROOT).as_posix()
        if any(ignored("/".join(Path(relative).parts[: i + 1])) for i in range(len(Path(relative).parts))):
            continue
        if path.is_file():
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / relative)


def index_reachable() -> bool:
    try:
        probe = subprocess.run([sys.executable, "-m", "pip", "index", "versions", "pip"], capture_output=True,
                               text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_images_install_and_entry_commands_work_in_a_clean_virtualenv(tmp_path: Path) -> None:
    if not index_reachable():
        pytest.skip("the package index is not reachable: cannot install into a clean virtualenv")
    context, prefix = tmp_path / "src", tmp_path / "opt-pintu"
    copy_context(context)
    assert (context / "pyproject.toml").exists() and not (context / "tests").exists()

    steps = instructions()
    installs = [args for word, args in steps if word == "RUN" and "pip install" in args]
    assert installs, "the Dockerfile installs the package with pip"
    base_python = getattr(sys, "_base_executable", sys.executable)
    for command in installs:
        command = command.replace("/opt/pintu", str(prefix)).replace("/src", str(context))
        command = re.sub(r"(^|&& )python ", rf"\g<1>{shlex.quote(base_python)} ", command)
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=200,
                              env={**os.environ, "PIP_NO_CACHE_DIR": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        assert done.returncode == 0, done.stderr[-3000:]
    assert not (prefix / "bin" / "pip").exists(), "pip is removed from the runtime virtualenv"

    runtime = final_stage()
    entry = exec_form(next(args for word, args in runtime if word == "ENTRYPOINT"))
    cmd = exec_form(next(args for word, args in runtime if word == "CMD"))
    health = exec_form(next(args for word, args in runtime if word == "HEALTHCHECK").split(" CMD ", 1)[1])
    image_env = {}
    for word, args in runtime:
        if word == "ENV":
            image_env.update(dict(re.findall(r"(\w+)=(\S+)", args)))
    path = f"{prefix / 'bin'}:{image_env.get('PATH', '').replace('/opt/pintu/bin', str(prefix / 'bin'))}"
    # A clean environment: nothing from this test process (no virtualenv, no PYTHONPATH) leaks in.
    base_env = {**image_env, "PATH": path, "HOME": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
                "PINTU_MEDIA_DIR": str(tmp_path / "media-volume")}  # the image's media volume, mapped
    entry[0] = str(prefix / "bin" / entry[0])

    migrate = subprocess.run(entry + ["db", "upgrade"], env=base_env, capture_output=True, text=True, timeout=60,
                             cwd=tmp_path)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert "up to date" in migrate.stdout

    from simulator.testing import running_simulator

    token, port, metrics = "777:deploy-test", free_port(), free_port()
    with running_simulator() as sim:
        sim.register_bot(token, "deploy_test_bot", "Pintu")
        env = {**base_env, "TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": sim.url, "PINTU_INVITE_SECRET": "4CM2Y1PkdRpYxi-1KW3D6XvfwFUM-LQgcrGX2lPw5EI",
               "PINTU_WEBHOOK_SECRET": "deploy-secret", "PINTU_WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram/x",
               "PINTU_WEBHOOK_LISTEN": f"127.0.0.1:{port}", "PINTU_METRICS_LISTEN": f"127.0.0.1:{metrics}"}
        bot = subprocess.Popen(entry + cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               cwd=tmp_path)
        try:
            health_env = {**env, "PATH": path}
            deadline = time.monotonic() + 60
            while True:
                check = subprocess.run(health, env=health_env, capture_output=True, text=True, timeout=30)
                if check.returncode == 0 or time.monotonic() > deadline or bot.poll() is not None:
                    break
                time.sleep(0.5)
            assert check.returncode == 0, (check.stdout, check.stderr)
            assert json.loads(check.stdout)["database"] == "ok"
            info = sim.bot_call(token, "getWebhookInfo")["result"]
            assert info["url"] == env["PINTU_WEBHOOK_URL"]
        finally:
            bot.send_signal(signal.SIGTERM)
            output = bot.communicate(timeout=30)[0]
        assert bot.returncode == 0, output[-3000:]
        assert token.split(":")[1] not in output, "the token never appears in the log"
        # The image's logs are JSON lines (PINTU_LOG_FORMAT=json in the image).
        lines = [line for line in output.splitlines() if line.strip()]
        assert lines and all(json.loads(line)["level"] for line in lines), output[-3000:]

    # The reference registry as compose runs it (its volume mapped to a temporary folder), and its health check.
    command = compose()["services"]["registry"]["command"]
    registry_port = free_port()
    command = [c.replace("/data", str(tmp_path)) for c in command]
    command[command.index("--port") + 1] = str(registry_port)
    registry_health = compose()["services"]["registry"]["healthcheck"]["test"][1:]
    registry_health[-1] = registry_health[-1].replace("8090", str(registry_port))
    service = subprocess.Popen(entry + command, env={**base_env, "PINTU_REGISTRY_TOKEN": "t"}, cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            check = subprocess.run(registry_health, env={**base_env, "PATH": path}, capture_output=True, text=True,
                                   timeout=30)
            if check.returncode == 0 or time.monotonic() > deadline or service.poll() is not None:
                break
            time.sleep(0.5)
        assert check.returncode == 0, (check.stdout, check.stderr)
        assert json.loads(check.stdout)["database"] == "ok"
    finally:
        service.terminate()
        service.communicate(timeout=30)
