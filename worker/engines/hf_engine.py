"""Hugging Face transformers engine, for small models and machines without vLLM."""

from __future__ import annotations

from typing import Any

from worker.engines import EngineOptions, SamplingConfig, gpu_name
from worker.types import Completion, Prompt


class HFEngine:
    """`model.generate(do_sample=True, num_return_sequences=n)` one prompt at a time, seeded per prompt."""

    name = "hf"

    def __init__(self, model: str, options: EngineOptions) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = model
        self.options = options
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = {
            "auto": "auto",
            "float32": torch.float32,
            "bfloat16": torch.bfloat16,
            "float16": torch.float16,
        }[options.dtype]
        extra = dict(options.extra)
        self.tokenizer = AutoTokenizer.from_pretrained(model, revision=options.revision, **extra)
        self.model = AutoModelForCausalLM.from_pretrained(
            model, revision=options.revision, dtype=dtype, **extra
        ).to(self.device)
        self.model.eval()

    def _render(self, prompt: Prompt) -> str:
        if prompt.text is not None:
            return prompt.text
        return self.tokenizer.apply_chat_template(
            list(prompt.messages or ()), tokenize=False, add_generation_prompt=True
        )

    def generate(
        self, prompts: list[Prompt], config: SamplingConfig, seeds: list[int | None]
    ) -> list[list[Completion]]:
        """n sampled continuations per prompt; the torch generator is reseeded per prompt."""
        import torch

        eos = self.tokenizer.eos_token_id
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else eos
        out: list[list[Completion]] = []
        for prompt, seed in zip(prompts, seeds, strict=True):
            if seed is not None:
                torch.manual_seed(seed)
            encoded = self.tokenizer(self._render(prompt), return_tensors="pt").to(self.device)
            width = encoded["input_ids"].shape[1]
            with torch.no_grad():
                generated = self.model.generate(
                    **encoded,
                    do_sample=config.temperature > 0,
                    temperature=config.temperature if config.temperature > 0 else None,
                    top_p=config.top_p,
                    max_new_tokens=config.max_tokens,
                    num_return_sequences=config.n,
                    pad_token_id=pad,
                    stop_strings=list(config.stop) or None,
                    tokenizer=self.tokenizer if config.stop else None,
                )
            completions = []
            for row in generated[:, width:]:
                tokens = row.tolist()
                ended = eos in tokens
                if ended:
                    tokens = tokens[: tokens.index(eos) + 1]
                else:
                    while tokens and tokens[-1] == pad:
                        tokens.pop()
                text = self.tokenizer.decode(tokens, skip_special_tokens=True)
                completions.append(
                    Completion(
                        text=text,
                        num_tokens=len(tokens),
                        finish_reason="stop" if ended or len(tokens) < config.max_tokens else "length",
                    )
                )
            out.append(completions)
        return out

    def provenance(self) -> dict[str, Any]:
        """transformers and torch versions, the model's commit hash when it came from the hub, the device."""
        import torch
        import transformers

        return {
            "engine": "hf",
            "transformers_version": transformers.__version__,
            "torch_version": torch.__version__,
            "model": self.model_name,
            "model_revision": getattr(self.model.config, "_commit_hash", None) or self.options.revision,
            "gpu": gpu_name(),
        }

    def close(self) -> None:
        """Drop the model."""
        del self.model
