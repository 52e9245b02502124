"""docker-compose.yml's structure: services, healthchecks, start order, GPU, volumes, ports, no secrets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.deploy.compose_file import (
    COMPOSE_FILE,
    MissingVariable,
    argv,
    compose,
    dockerfile_stages,
    env_example,
    interpolate,
    raw_compose,
    variables,
)

SERVICES = {"postgres", "migrate", "app", "worker", "enqueue"}
# A value under one of these names is a secret and must come from the environment.
SECRET_NAME = re.compile(r"(?<!REQUIRES_)(PASSWORD|TOKENS?|SECRET|_KEY)$", re.IGNORECASE)
# `${VAR}`, `${VAR:?message}` or `${VAR:-}` (empty default): nothing of the secret is written in the file.
FROM_ENVIRONMENT = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*|:?-)?\}")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    """The services of docker-compose.yml interpolated with .env.example's values."""
    return compose(env_example())["services"]


def test_interpolation_follows_compose_rules() -> None:
    """The interpolator the other tests rely on gives compose's answers, failures included."""
    env = {"SET": "v", "EMPTY": ""}
    assert interpolate("a${SET}b $SET $$SET", env) == "avb v $SET"
    assert interpolate("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", env) == "d d  d"
    assert interpolate("${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt}", env) == "alt  alt"
    with pytest.raises(MissingVariable, match="EMPTY: say so"):
        interpolate("${EMPTY:?say so}", env)
    assert interpolate("${EMPTY?fine}", env) == ""


def test_services_exist_and_build_from_the_dockerfile(services: dict[str, Any]) -> None:
    """postgres from its image; every other service built from a target the Dockerfile defines."""
    assert set(services) == SERVICES
    assert services["postgres"]["image"].startswith("postgres:16")
    stages = dockerfile_stages()
    expected_target = {"migrate": "app", "app": "app", "worker": "worker", "enqueue": "worker"}
    for name, target in expected_target.items():
        build = services[name]["build"]
        assert build["context"] == "." and "dockerfile" not in build, name
        assert build["target"] == target, name
        assert target in stages, f"{name} builds target {target!r}; the Dockerfile has {sorted(stages)}"


def test_commands_are_the_coverscope_cli(services: dict[str, Any]) -> None:
    """Each service runs one `coverscope` command, so it runs the same outside Docker."""
    assert argv(services["migrate"]["command"]) == ["coverscope", "db", "upgrade"]
    assert argv(services["app"]["command"]) == ["coverscope", "serve"]
    assert argv(services["worker"]["command"])[:2] == ["coverscope", "worker"]
    assert argv(services["enqueue"]["entrypoint"])[:2] == ["coverscope", "enqueue"]
    # the model comes from the environment unless `docker compose run --rm enqueue ARGS` replaces it
    example = env_example()
    assert argv(services["enqueue"]["command"]) == [
        "--model",
        example["COVERSCOPE_RUN_MODEL"],
        "--kind",
        example["COVERSCOPE_RUN_KIND"],
    ]
    # the app listens on the port it publishes and probes
    app = services["app"]
    assert app["environment"]["COVERSCOPE_HOST"] == "0.0.0.0"
    assert app["environment"]["COVERSCOPE_PORT"] == "8000"
    assert all(str(port).endswith(":8000") for port in app["ports"])


def test_healthchecks_and_start_order(services: dict[str, Any]) -> None:
    """postgres and app report health; nothing touches the store before it is healthy and migrated."""
    postgres_check = argv(services["postgres"]["healthcheck"]["test"])
    assert postgres_check[0] == "CMD-SHELL" and "pg_isready" in postgres_check[1]
    app_check = argv(services["app"]["healthcheck"]["test"])
    assert app_check[0] == "CMD" and "/api/v1/health" in " ".join(app_check)
    for name in ("postgres", "app"):
        check = services[name]["healthcheck"]
        assert int(check["retries"]) >= 3 and check["interval"] and check["timeout"], name
    assert "depends_on" not in services["postgres"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("app", "worker", "enqueue"):
        assert services[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }, name
    # long-running services come back; one-shots do not
    assert services["app"]["restart"] == services["worker"]["restart"] == "unless-stopped"
    assert services["migrate"]["restart"] == services["enqueue"]["restart"] == "no"
    # `docker compose up` does not queue a run each time: enqueue starts only when asked for
    assert services["enqueue"]["profiles"] == ["enqueue"]
    assert "profiles" not in services["worker"] and "deploy" not in services["enqueue"]


def test_worker_reserves_a_gpu_and_scales(services: dict[str, Any]) -> None:
    """The worker asks for an NVIDIA GPU, and nothing in it prevents `--scale worker=N`."""
    worker = services["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert len(devices) == 1
    gpu = devices[0]
    assert gpu["driver"] == "nvidia" and "gpu" in gpu["capabilities"]
    assert ("count" in gpu) != ("device_ids" in gpu)  # compose refuses both at once
    assert gpu.get("device_ids") == [env_example()["COVERSCOPE_WORKER_GPU"]] or gpu.get("count")
    # replicas cannot share a fixed name or host port
    assert "container_name" not in worker and "ports" not in worker
    assert "replicas" not in worker.get("deploy", {})


def test_named_volumes_hold_the_store_and_the_model_cache(services: dict[str, Any]) -> None:
    """PostgreSQL's data and the Hugging Face cache live in named volumes declared by the file."""
    declared = raw_compose()["volumes"]
    assert services["postgres"]["volumes"] == ["pgdata:/var/lib/postgresql/data"]
    assert "pgdata" in declared
    for name in ("worker", "enqueue"):
        service = services[name]
        hf_home = service["environment"]["HF_HOME"]
        assert service["volumes"] == [f"hf-cache:{hf_home}"], name
    assert "hf-cache" in declared


def test_database_url_is_built_from_the_environment(services: dict[str, Any]) -> None:
    """Every service that touches the store gets the same psycopg URL with the password from .env."""
    example = env_example()
    urls = {
        name: services[name]["environment"]["COVERSCOPE_DATABASE_URL"] for name in SERVICES - {"postgres"}
    }
    assert len(set(urls.values())) == 1, urls
    url = make_url(next(iter(urls.values())))
    assert url.drivername == "postgresql+psycopg"
    assert url.password == example["POSTGRES_PASSWORD"]
    assert (url.username, url.database) == ("coverscope", "coverscope")
    assert (url.host, url.port) == ("postgres", 5432)
    postgres_env = services["postgres"]["environment"]
    assert (postgres_env["POSTGRES_USER"], postgres_env["POSTGRES_DB"]) == ("coverscope", "coverscope")
    # without a password, compose refuses to start rather than run an open database
    without_password = {k: v for k, v in example.items() if k != "POSTGRES_PASSWORD"}
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD"):
        compose(without_password)


def _environments(raw: dict[str, Any]) -> list[tuple[str, str, str]]:
    found = []
    for name, service in raw["services"].items():
        environment = service.get("environment", {})
        assert isinstance(environment, dict), f"{name}: write environment as a mapping"
        found += [(name, key, str(value)) for key, value in environment.items()]
    return found


def test_no_secret_is_written_in_the_file() -> None:
    """Passwords and tokens come from the environment: none is a literal, none has a default."""
    raw = raw_compose()
    secrets = [(s, k, v) for s, k, v in _environments(raw) if SECRET_NAME.search(k)]
    assert {k for _, k, _ in secrets} >= {"POSTGRES_PASSWORD", "COVERSCOPE_API_TOKENS", "HF_TOKEN"}
    for service, key, value in secrets:
        assert FROM_ENVIRONMENT.fullmatch(value), (
            f"{service}.{key} = {value!r} is not taken from the environment"
        )
    # passwords inside URLs too
    text = COMPOSE_FILE.read_text()
    credentials = re.findall(r"://[^:/@\s]+:(\$\{[^}]*\}|[^@\s]*)@", text)
    assert credentials, "the database URL should carry a password from the environment"
    for password in credentials:
        assert FROM_ENVIRONMENT.fullmatch(password), f"a URL holds the password {password!r}"


def test_every_variable_is_documented_in_env_example() -> None:
    """Each `${VAR}` the file uses appears in .env.example, and .env.example lists nothing unused."""
    used = variables(COMPOSE_FILE.read_text())
    documented = set(env_example())
    assert used - documented == set(), "undocumented in .env.example"
    assert documented - used == set(), "in .env.example but unused by docker-compose.yml"
    assert {"POSTGRES_PASSWORD", "COVERSCOPE_RUN_MODEL", "COVERSCOPE_RUN_BENCHMARK", "HF_TOKEN"} <= used


def test_published_ports_are_local_by_default() -> None:
    """With the defaults (no .env), every published port listens on 127.0.0.1 only."""
    services = compose({"POSTGRES_PASSWORD": "x"})["services"]
    published = [(name, str(p)) for name, s in services.items() for p in s.get("ports", [])]
    assert {name for name, _ in published} == {"postgres", "app"}
    for name, port in published:
        assert port.startswith("127.0.0.1:"), f"{name} publishes {port!r} beyond this host"
    opened = compose({"POSTGRES_PASSWORD": "x", "COVERSCOPE_APP_BIND": "0.0.0.0"})["services"]
    assert opened["app"]["ports"] == ["0.0.0.0:8000:8000"]
