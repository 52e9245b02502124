"""The Dockerfile's targets install what pyproject.toml declares, copy what it packages, run unprivileged."""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib

import pytest

from tests.conftest import REPO
from tests.deploy.compose_file import PYPROJECT, Stage, dockerfile_stages, extras, pip_install_targets


@pytest.fixture(scope="module")
def stages() -> dict[str, Stage]:
    """The Dockerfile's named stages."""
    return dockerfile_stages()


@pytest.fixture(scope="module")
def pyproject() -> dict:
    """pyproject.toml."""
    return tomllib.loads(PYPROJECT.read_text())


def test_targets_exist(stages: dict[str, Stage]) -> None:
    """`app` on slim Python, `worker` on a CUDA image with vLLM."""
    assert {"app", "worker"} <= set(stages)
    assert "python:3.11-slim" in stages["app"].base or stages["app"].base == "${PYTHON_IMAGE}"
    args = " ".join(a for s in stages.values() for a in s.arguments("ARG"))
    default = dict(re.findall(r"(\w+)=(\S+)", (REPO / "Dockerfile").read_text().split("FROM", 1)[0]))
    assert default.get("PYTHON_IMAGE") == "python:3.11-slim"
    assert re.fullmatch(r"vllm/vllm-openai:v[\d.]+", default.get("VLLM_IMAGE", "")), default
    assert stages["worker"].base == "${VLLM_IMAGE}" and stages["app"].base == "${PYTHON_IMAGE}"
    assert "VLLM_IMAGE" not in args  # not redeclared inside a stage, where it would be empty


def test_pip_installs_match_pyproject_extras(stages: dict[str, Stage], pyproject: dict) -> None:
    """The app installs the project without extras (no vLLM in it); the worker installs `.[worker]`."""
    declared = set(pyproject["project"]["optional-dependencies"])
    app_targets, worker_targets = pip_install_targets(stages["app"]), pip_install_targets(stages["worker"])
    assert app_targets == ["."], app_targets
    assert len(worker_targets) == 1 and extras(worker_targets[0]) == {"worker"}, worker_targets
    for target in app_targets + worker_targets:
        assert extras(target) <= declared, f"{target} names an extra pyproject.toml lacks: {declared}"
    assert any(dep.startswith("vllm") for dep in pyproject["project"]["optional-dependencies"]["worker"])
    assert not any(dep.startswith(("vllm", "torch")) for dep in pyproject["project"]["dependencies"])


def _copied(stage: Stage) -> set[str]:
    sources = set()
    for args in stage.arguments("COPY"):
        words = [w for w in shlex.split(args) if not w.startswith("--")]
        sources |= {w.rstrip("/") for w in words[:-1]}
    return sources


def _packaged_sources() -> set[str]:
    """The top-level folders setup.py packages: its find_packages roots and its package_dir folders."""
    tree = ast.parse((REPO / "setup.py").read_text())
    sources: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "include":
            sources |= {ast.literal_eval(item).rstrip("*") for item in node.value.elts}
        if isinstance(node, ast.keyword) and node.arg == "package_dir":
            sources |= {ast.literal_eval(value).split("/")[0] for value in node.value.values}
    return sources


def test_each_target_copies_what_pip_install_needs(stages: dict[str, Stage], pyproject: dict) -> None:
    """pyproject.toml, setup.py, the readme and every packaged folder are copied before `pip install`."""
    packages = _packaged_sources()
    assert {"app", "worker", "migrations", "static"} <= packages, packages
    needed = {"pyproject.toml", "setup.py", pyproject["project"]["readme"], *packages}
    for name in ("app", "worker"):
        copied = _copied(stages[name])
        assert needed <= copied, f"{name} does not copy {sorted(needed - copied)}"
        for source in copied:
            assert (REPO / source).exists(), f"{name} copies {source}, which is not in the repository"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert not (needed & set(ignored)), "the .dockerignore hides what the images copy"
    assert {".venv", ".git", ".env", "*.db"} <= set(ignored)


def test_images_run_unprivileged_with_health_and_sandbox(stages: dict[str, Stage]) -> None:
    """Both run as a non-root user; the app exposes 8000 with a health probe; the worker has bubblewrap."""
    for name in ("app", "worker"):
        users = stages[name].arguments("USER")
        assert users and users[-1] not in ("root", "0"), name
    app = stages["app"]
    assert app.arguments("EXPOSE") == ["8000"]
    (healthcheck,) = app.arguments("HEALTHCHECK")
    assert "/api/v1/health" in healthcheck
    assert json.loads(app.arguments("CMD")[-1]) == ["coverscope", "serve"]
    worker = stages["worker"]
    assert any("apt-get install" in run and "bubblewrap" in run for run in worker.arguments("RUN"))
    assert worker.arguments("ENTRYPOINT") == ["[]"]  # not the base image's `vllm serve`
    assert json.loads(worker.arguments("CMD")[-1]) == ["coverscope", "worker"]
