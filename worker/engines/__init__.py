"""Engines: one small interface over vLLM (offline), OpenAI-compatible servers and transformers.

Each engine module imports its heavy library (vllm, torch, transformers, openai) only when the
engine is built, so importing this package costs nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from worker.types import Completion, Prompt

ENGINES = ("vllm", "openai", "hf")


@dataclass(frozen=True)
class SamplingConfig:
    """How to sample: n completions per prompt, each prompt with its own seed (see `problem_seed`)."""

    n: int
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 16384
    seed: int | None = 0
    stop: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in the run."""
        out = asdict(self)
        out["stop"] = list(self.stop)
        return out


@dataclass(frozen=True)
class EngineOptions:
    """Engine settings a run records so that any worker can rebuild the same engine."""

    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    dtype: str = "auto"
    revision: str | None = None
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 16
    timeout_s: float = 600.0
    max_retries: int = 5
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in the run."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> EngineOptions:
        """Rebuild from what a run stored; unknown keys are ignored (older or newer coverscope)."""
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})


class Engine(Protocol):
    """What the pipeline needs from an engine."""

    name: str

    def generate(
        self, prompts: list[Prompt], config: SamplingConfig, seeds: list[int | None]
    ) -> list[list[Completion]]:
        """`config.n` completions for each prompt, the i-th prompt sampled with `seeds[i]`."""
        ...

    def provenance(self) -> dict[str, Any]:
        """Versions and hardware to record in the run (engine version, model revision, GPU)."""
        ...

    def close(self) -> None:
        """Free the model and its memory."""
        ...


def make_engine(name: str, model: str, options: EngineOptions) -> Engine:
    """Build the engine called `name` for `model` (a Hugging Face id, a local directory or a served name)."""
    if name == "vllm":
        from worker.engines.vllm_engine import VllmEngine

        return VllmEngine(model, options)
    if name == "openai":
        from worker.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(model, options)
    if name == "hf":
        from worker.engines.hf_engine import HFEngine

        return HFEngine(model, options)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")


def problem_seed(run_seed: int | None, problem_key: str) -> int | None:
    """A per-problem seed from the run's seed and the problem key, so a problem's samples do not depend
    on which worker, unit or chunk produced them (a re-delivered unit regenerates identical texts)."""
    if run_seed is None:
        return None
    import hashlib

    digest = hashlib.sha256(f"{run_seed}:{problem_key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def gpu_name() -> str:
    """The GPU this process sees, or "cpu"."""
    try:
        import torch

        if torch.cuda.is_available():
            return torch.cuda.get_device_name(0)
    except Exception:
        pass
    return "cpu"
