"""Export a run as our samples JSONL (re-importable), CSV or Parquet."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError
from app.importers.formats.samples import dump_header, dump_problem, dump_sample
from app.importers.records import HeaderRecord, ProblemRecord, SampleRecord
from app.models import Problem, ProblemStat, Run, Sample
from app.services.runs import get_run

EXPORT_FORMATS = ("jsonl", "csv", "parquet")
TABULAR_COLUMNS = (
    "run_id",
    "model",
    "benchmark",
    "problem",
    "index",
    "verdict",
    "answer",
    "gold",
    "num_tokens",
    "finish_reason",
    "text",
)
COUNT_COLUMNS = ("run_id", "model", "benchmark", "problem", "n", "correct")
BATCH = 5000


def header_of(run: Run) -> HeaderRecord:
    """The header line that lets `coverscope import samples` recreate the run's identity and settings."""
    # "import" describes how this store received the run; the re-importing store writes its own.
    provenance = {key: value for key, value in (run.provenance or {}).items() if key != "import"}
    return HeaderRecord(
        model=run.model.name,
        model_kind=run.model.kind.value,
        base_model=run.model.base_model.name if run.model.base_model else None,
        model_source=run.model.source,
        model_revision=run.model.revision,
        benchmark=run.benchmark.name,
        benchmark_source=run.benchmark.source,
        run={
            "name": run.name,
            "engine": run.engine,
            "prompt_template": run.prompt_template,
            "temperature": run.temperature,
            "top_p": run.top_p,
            "max_tokens": run.max_tokens,
            "seed": run.seed,
            "n_per_problem": run.n_per_problem,
            "grader": run.grader,
            "grader_version": run.grader_version,
            "sampling": run.sampling or {},
            "provenance": provenance,
        },
    )


def _problems(session: Session, run: Run) -> list[Problem]:
    """The problems the run has rows for, in benchmark order."""
    return list(
        session.scalars(
            select(Problem)
            .join(ProblemStat, ProblemStat.problem_id == Problem.id)
            .where(ProblemStat.run_id == run.id)
            .order_by(Problem.position, Problem.id)
        )
    )


def _samples(session: Session, run: Run) -> Iterator[tuple[str, str | None, Sample]]:
    """(problem key, gold answer, sample) in benchmark order, streamed in batches by keyset pagination."""
    last: tuple[int, int, int] = (-1, -1, -1)
    while True:
        rows = session.execute(
            select(Problem.position, Problem.key, Problem.answer, Sample)
            .join(Problem, Problem.id == Sample.problem_id)
            .where(Sample.run_id == run.id)
            .where(
                (Problem.position > last[0])
                | ((Problem.position == last[0]) & (Problem.id > last[1]))
                | ((Problem.position == last[0]) & (Problem.id == last[1]) & (Sample.idx > last[2]))
            )
            .order_by(Problem.position, Problem.id, Sample.idx)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for _, key, gold, sample in rows:
            yield key, gold, sample
        position, _, _, sample = rows[-1]
        last = (position, sample.problem_id, sample.idx)
        session.expunge_all()


def _counts(session: Session, run: Run) -> Iterator[tuple[str, int, int]]:
    """(problem key, n, correct) of a run in benchmark order."""
    rows = session.execute(
        select(Problem.key, ProblemStat.n, ProblemStat.correct)
        .join(Problem, Problem.id == ProblemStat.problem_id)
        .where(ProblemStat.run_id == run.id)
        .order_by(Problem.position, Problem.id)
    )
    yield from ((key, n, correct) for key, n, correct in rows)


def export_run(
    *,
    session: Session,
    run_id: int,
    format_name: str,
    out: IO[str] | Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write run `run_id` to `out` (a text stream, or a path for parquet); returns the rows written.

    jsonl is our samples format (header, problems, samples) and re-imports exactly with
    `coverscope import samples`; a counts-only run exports as passk-inference counts lines.
    """
    if format_name not in EXPORT_FORMATS:
        raise InvalidInputError(
            f"unknown export format {format_name!r}; choose one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    run = get_run(session=session, run_id=run_id)
    if format_name == "parquet":
        if not isinstance(out, Path):
            raise InvalidInputError("parquet needs an output file", field="output")
        return _write_parquet(session, run, out, progress)
    assert not isinstance(out, Path)
    if format_name == "jsonl":
        return _write_jsonl(session, run, out, progress)
    return _write_csv(session, run, out, progress)


def _write_jsonl(session: Session, run: Run, out: IO[str], progress: Callable[[int], None] | None) -> int:
    written = 0
    if not run.has_samples:
        for key, n, correct in _counts(session, run):
            out.write(json.dumps({"id": key, "c": correct, "n": n}, ensure_ascii=False) + "\n")
            written += 1
        return written
    out.write(dump_header(header_of(run)) + "\n")
    for problem in _problems(session, run):
        record = ProblemRecord(
            key=problem.key,
            statement=problem.statement,
            answer=problem.answer,
            tests=problem.tests,
            meta=problem.meta or {},
        )
        out.write(dump_problem(record) + "\n")
    for key, _, sample in _samples(session, run):
        out.write(dump_sample(_sample_record(key, sample)) + "\n")
        written += 1
        if progress and written % BATCH == 0:
            progress(BATCH)
    return written


def _sample_record(key: str, sample: Sample) -> SampleRecord:
    return SampleRecord(
        problem_key=key,
        index=sample.idx,
        text=sample.text,
        verdict=sample.verdict.value,
        answer=sample.answer,
        num_tokens=sample.num_tokens,
        finish_reason=sample.finish_reason,
        grader_detail=sample.grader_detail,
    )


def _tabular_rows(session: Session, run: Run) -> Iterator[dict[str, Any]]:
    if not run.has_samples:
        for key, n, correct in _counts(session, run):
            yield {
                "run_id": run.id,
                "model": run.model.name,
                "benchmark": run.benchmark.name,
                "problem": key,
                "n": n,
                "correct": correct,
            }
        return
    for key, gold, sample in _samples(session, run):
        yield {
            "run_id": run.id,
            "model": run.model.name,
            "benchmark": run.benchmark.name,
            "problem": key,
            "index": sample.idx,
            "verdict": sample.verdict.value,
            "answer": sample.answer,
            "gold": gold,
            "num_tokens": sample.num_tokens,
            "finish_reason": sample.finish_reason,
            "text": sample.text,
        }


def _write_csv(session: Session, run: Run, out: IO[str], progress: Callable[[int], None] | None) -> int:
    columns = TABULAR_COLUMNS if run.has_samples else COUNT_COLUMNS
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    written = 0
    for row in _tabular_rows(session, run):
        writer.writerow(row)
        written += 1
        if progress and written % BATCH == 0:
            progress(BATCH)
    return written


def _write_parquet(session: Session, run: Run, path: Path, progress: Callable[[int], None] | None) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if run.has_samples:
        schema = pa.schema(
            [
                ("run_id", pa.int64()),
                ("model", pa.string()),
                ("benchmark", pa.string()),
                ("problem", pa.string()),
                ("index", pa.int32()),
                ("verdict", pa.string()),
                ("answer", pa.string()),
                ("gold", pa.string()),
                ("num_tokens", pa.int32()),
                ("finish_reason", pa.string()),
                ("text", pa.string()),
            ]
        )
    else:
        schema = pa.schema(
            [
                ("run_id", pa.int64()),
                ("model", pa.string()),
                ("benchmark", pa.string()),
                ("problem", pa.string()),
                ("n", pa.int32()),
                ("correct", pa.int32()),
            ]
        )
    tmp = path.with_name(path.name + ".partial")
    written = 0
    try:
        with pq.ParquetWriter(tmp, schema) as writer:
            batch: list[dict[str, Any]] = []
            for row in _tabular_rows(session, run):
                batch.append(row)
                if len(batch) >= BATCH:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    written += len(batch)
                    if progress:
                        progress(len(batch))
                    batch.clear()
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                written += len(batch)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return written
