"""Any OpenAI-compatible server (`vllm serve` fleets, SGLang, TGI): /v1/completions and
/v1/chat/completions."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from worker.engines import EngineOptions, SamplingConfig
from worker.types import Completion, Prompt


class OpenAIEngine:
    """Sends each prompt as one request with `n` and `seed`; bounded concurrency, retries, timeouts."""

    name = "openai"

    def __init__(self, model: str, options: EngineOptions) -> None:
        import openai

        if not options.base_url:
            raise ValueError("the openai engine needs a base URL (--base-url http://host:8000/v1)")
        self.model = model
        self.options = options
        self.client = openai.AsyncOpenAI(
            base_url=options.base_url,
            api_key=os.environ.get(options.api_key_env) or "EMPTY",
            timeout=options.timeout_s,
            max_retries=options.max_retries,  # exponential backoff with jitter, in the client library
        )
        self.server_models: list[str] = []

    async def _one(self, prompt: Prompt, config: SamplingConfig, seed: int | None, gate: asyncio.Semaphore):
        common: dict[str, Any] = {
            "model": self.model,
            "n": config.n,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "max_tokens": config.max_tokens,
        }
        if seed is not None:
            common["seed"] = seed
        if config.stop:
            common["stop"] = list(config.stop)
        async with gate:
            if prompt.text is not None:
                response = await self.client.completions.create(prompt=prompt.text, **common)
                choices = sorted(response.choices, key=lambda c: c.index)
                texts = [(c.text, c.finish_reason) for c in choices]
            else:
                response = await self.client.chat.completions.create(
                    messages=list(prompt.messages or ()), **common
                )
                choices = sorted(response.choices, key=lambda c: c.index)
                texts = [(c.message.content or "", c.finish_reason) for c in choices]
        usage = getattr(response, "usage", None)
        per_sample = None
        if usage is not None and usage.completion_tokens is not None and len(texts) == 1:
            per_sample = usage.completion_tokens
        return [Completion(text=t, num_tokens=per_sample, finish_reason=f) for t, f in texts]

    async def _all(self, prompts: list[Prompt], config: SamplingConfig, seeds: list[int | None]):
        gate = asyncio.Semaphore(max(1, self.options.concurrency))
        return await asyncio.gather(
            *(self._one(p, config, s, gate) for p, s in zip(prompts, seeds, strict=True))
        )

    def generate(
        self, prompts: list[Prompt], config: SamplingConfig, seeds: list[int | None]
    ) -> list[list[Completion]]:
        """All prompts of the chunk concurrently (at most `options.concurrency` requests in flight)."""
        results = asyncio.run(self._all(prompts, config, seeds))
        for prompt_results in results:
            if len(prompt_results) != config.n:
                raise RuntimeError(f"the server returned {len(prompt_results)} choices for n={config.n}")
        return results

    def provenance(self) -> dict[str, Any]:
        """The server address and the model name it serves."""
        return {"engine": "openai", "base_url": self.options.base_url, "model": self.model}

    def close(self) -> None:
        """Nothing to free locally."""
