"""Each compose service's command, read from docker-compose.yml, run here against a fresh PostgreSQL database
with the project installed the way the Dockerfile installs it (`pip install .` from the copied sources)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.core.db import make_engine, make_session_factory
from app.core.schema import current_revision, head_revision
from app.models import Run, RunStatus, Sample
from tests.browser import free_port
from tests.deploy.compose_file import argv, compose, dockerfile_stages, env_example
from tests.helpers import ARITHMETIC_FIELDS, write_arithmetic_benchmark

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N = 4
PROBLEMS = 5


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app target's sources (its COPY lines) installed non-editable into a directory, as in the image."""
    root = tmp_path_factory.mktemp("image")
    source, target = root / "src", root / "site"
    source.mkdir()
    repo = Path(__file__).resolve().parents[2]
    for args in dockerfile_stages()["app"].arguments("COPY"):
        *sources, _ = [w for w in args.split() if not w.startswith("--")]
        for name in sources:
            path = repo / name
            if path.is_dir():
                shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(path, source / name)
    pip = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
    ]
    subprocess.run(
        [*pip, "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    assert (target / "bin" / "coverscope").exists()
    # the dashboard's own assets travel with the package (setup.py maps static/ to app/ui/static)
    assert (target / "app" / "ui" / "static" / "coverscope.css").exists()
    return target


def _environment(
    service: dict[str, Any], *, installed: Path, database_url: str, **overrides: str
) -> dict[str, str]:
    """The service's environment, on this machine: the test database, the installed copy first on the path."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("COVERSCOPE_", "PYTHON", "HF_"))}
    venv_bin = Path(sys.executable).parent
    return {
        **inherited,
        **{key: str(value) for key, value in service.get("environment", {}).items()},
        "COVERSCOPE_DATABASE_URL": database_url,
        "PATH": os.pathsep.join([str(installed / "bin"), str(venv_bin), os.environ.get("PATH", "")]),
        "PYTHONPATH": str(installed),
        **overrides,
    }


def _run(command: list[str], env: dict[str, str], cwd: Path, timeout: float = 600) -> str:
    """Run a service's command to completion; its output, or a failure that shows it."""
    proc = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{command} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


@contextmanager
def _started(command: list[str], env: dict[str, str], cwd: Path, base: str) -> Iterator[subprocess.Popen]:
    """Start a long-running service command and wait until it answers /api/v1/health; stop it afterwards."""
    log = cwd / "service.log"
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, f"{command} exited {proc.returncode}:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{base}/api/v1/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"{command} did not answer:\n{log.read_text()}"
            time.sleep(0.25)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(url: str) -> tuple[int, str, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get_content_type(), response.read().decode()


def test_installed_copy_is_what_runs(installed: Path, tmp_path: Path) -> None:
    """The commands below run the non-editable install (as in the image), not the working tree."""
    env = _environment({}, installed=installed, database_url="sqlite://")
    where = _run(
        ["python", "-c", "import app, migrations; print(app.__file__, migrations.__file__)"], env, tmp_path
    )
    assert all(path.startswith(str(installed)) for path in where.split()), where
    assert any((installed / "migrations" / "versions").glob("*.py")), "the migrations are not packaged"
    assert shutil.which("coverscope", path=env["PATH"]) == str(installed / "bin" / "coverscope")


def test_migrate_then_app_serve(postgres_url: str, installed: Path, tmp_path: Path) -> None:
    """migrate brings an empty database to head (twice is harmless); app serves API, docs and dashboard and
    passes its own healthcheck, which fails once the app is gone."""
    services = compose(env_example())["services"]
    migrate = _environment(services["migrate"], installed=installed, database_url=postgres_url)
    first = _run(argv(services["migrate"]["command"]), migrate, tmp_path)
    assert f"empty -> {head_revision()}" in first
    engine = make_engine(postgres_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
    again = _run(argv(services["migrate"]["command"]), migrate, tmp_path)
    assert f"already at revision {head_revision()}" in again

    app = services["app"]
    port = free_port()
    env = _environment(
        app,
        installed=installed,
        database_url=postgres_url,
        COVERSCOPE_HOST="127.0.0.1",
        COVERSCOPE_PORT=str(port),
    )
    base = f"http://127.0.0.1:{port}"
    healthcheck = argv(app["healthcheck"]["test"])
    assert healthcheck[0] == "CMD"
    with _started(argv(app["command"]), env, tmp_path, base):
        status, kind, body = _get(f"{base}/api/v1/health")
        assert (status, kind, json.loads(body)["status"]) == (200, "application/json", "ok")
        status, kind, body = _get(f"{base}/api/docs")
        assert (status, kind) == (200, "text/html") and "swagger-ui" in body
        status, kind, body = _get(f"{base}/")
        assert (status, kind) == (200, "text/html") and "_dash-config" in body
        _run(healthcheck[1:], env, tmp_path, timeout=30)
    down = subprocess.run(healthcheck[1:], env=env, cwd=tmp_path, capture_output=True, timeout=30)
    assert down.returncode != 0, "the healthcheck passes with no app listening"


def test_enqueue_and_worker_complete_runs(
    postgres_url: str, installed: Path, tiny_model: Path, tmp_path: Path
) -> None:
    """`enqueue` queues a base and an RL run with the settings from the environment; one `worker` command
    drains the queue (hf engine, tiny model) and exits: both runs done, n samples for every problem."""
    settings = {
        **env_example(),
        "COVERSCOPE_RUN_MODEL": str(tiny_model),
        "COVERSCOPE_RUN_KIND": "base",
        "COVERSCOPE_RUN_BENCHMARK": "math500",
        "COVERSCOPE_RUN_N": str(N),
        "COVERSCOPE_RUN_TEMPERATURE": "1.0",
        "COVERSCOPE_RUN_MAX_TOKENS": "24",
        "COVERSCOPE_RUN_SEED": "7",
        "COVERSCOPE_RUN_ENGINE": "hf",
        "COVERSCOPE_RUN_DTYPE": "float32",
        "COVERSCOPE_RUN_UNIT_SIZE": "2",
        "COVERSCOPE_WORKER_LEASE_SECONDS": "120",
        "COVERSCOPE_WORKER_CHUNK_SAMPLES": "8",
    }
    services = compose(settings)["services"]
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    _run(
        argv(services["migrate"]["command"]),
        _environment(services["migrate"], installed=installed, database_url=postgres_url),
        tmp_path,
    )

    enqueue = services["enqueue"]
    env = _environment(enqueue, installed=installed, database_url=postgres_url, HF_HOME=str(cache))
    # no Hub here: the benchmark comes from a local file, named math500 (its columns are MATH-500's)
    toy = write_arithmetic_benchmark(tmp_path / "toy.jsonl", PROBLEMS, factor=7, prefix="d")
    local = ["--benchmark-file", str(toy), *ARITHMETIC_FIELDS]
    rl_model = tmp_path / "tiny-rl"
    rl_model.symlink_to(tiny_model, target_is_directory=True)
    # `docker compose run --rm enqueue` (the command from the environment), then with arguments for RL
    base_cmd = argv(enqueue["entrypoint"]) + argv(enqueue["command"]) + local
    rl_args = ["--model", str(rl_model), "--kind", "rl", "--base-model", str(tiny_model)]
    rl_cmd = argv(enqueue["entrypoint"]) + rl_args + local
    base_id = int(_run(base_cmd, env, tmp_path).splitlines()[0])
    rl_id = int(_run(rl_cmd, env, tmp_path).splitlines()[0])

    worker = services["worker"]
    env = _environment(worker, installed=installed, database_url=postgres_url, HF_HOME=str(cache))
    env["TOKENIZERS_PARALLELISM"] = "false"  # the worker image's ENV
    out = _run(argv(worker["command"]), env, tmp_path)
    units = 2 * math.ceil(PROBLEMS / 2)  # two runs, unit size 2
    assert f"{units} units, {2 * N * PROBLEMS} samples" in out, out

    engine = make_engine(postgres_url)
    sessions = make_session_factory(engine)
    try:
        with sessions() as session:
            base, rl = session.get(Run, base_id), session.get(Run, rl_id)
            for run in (base, rl):
                assert run.status is RunStatus.done, out
                assert (run.engine, run.n_per_problem, run.max_tokens) == ("hf", N, 24)
                assert (run.temperature, run.seed) == (1.0, 7)
                assert run.samples_done == run.samples_total == N * PROBLEMS
                per_problem = session.execute(
                    select(func.count(), func.count(func.distinct(Sample.idx)))
                    .where(Sample.run_id == run.id)
                    .group_by(Sample.problem_id)
                ).all()
                assert sorted(per_problem) == [(N, N)] * PROBLEMS
            assert base.model.name == str(tiny_model) and base.model.kind.value == "base"
            assert rl.model.kind.value == "rl" and rl.model.base_model_id == base.model_id
            assert base.benchmark_id == rl.benchmark_id
    finally:
        engine.dispose()
