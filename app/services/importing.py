"""Import a results file of any supported format into the store, all or nothing, in one transaction."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import app
from app.core.errors import ConflictError, ImportFormatError, InvalidInputError
from app.importers.formats import parse_file
from app.importers.records import CountRecord, HeaderRecord, ProblemRecord, Record, SampleRecord
from app.models import Benchmark, Model, Problem, ProblemStat, Run, RunStatus
from app.services.catalog import (
    fill_problem,
    get_or_create_benchmark,
    get_or_create_model,
    insert_problems,
    parse_model_kind,
    problem_ids_by_key,
)
from app.services.samples import insert_samples, refresh_problem_stats

ENGINE_BY_FORMAT = {
    "samples": "import",
    "counts": "import",
    "math-eval": "import",
    "human-eval": "import",
    "lm-eval": "import",
}
GRADER_BY_FORMAT = {
    "counts": None,
    "math-eval": "math-eval",
    "human-eval": "human-eval",
    "lm-eval": "lm-eval",
}
RUN_FIELDS = (
    "engine",
    "prompt_template",
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "grader",
    "grader_version",
)


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the run it made (or found), and how much it wrote."""

    run_id: int
    created: bool
    problems: int
    samples: int
    counts_only: bool


def file_sha256(path: Path) -> str:
    """SHA-256 of the file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(
    *,
    session_factory: sessionmaker[Session],
    format_name: str,
    path: Path,
    model: str | None = None,
    benchmark: str | None = None,
    kind: str | None = None,
    base_model: str | None = None,
    chunk_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `path` as one new run; a bad line raises ImportFormatError and leaves the store unchanged.

    Importing the same bytes again for the same model and benchmark is a no-op that returns the existing
    run; the same bytes for a different model or benchmark are refused.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(str(path), None, "no such file")
    model_kind = parse_model_kind(kind)
    digest = file_sha256(path)
    records = parse_file(format_name, path)
    with session_factory() as session:
        existing = _existing_import(session, digest)
        if existing is not None:
            return _check_reimport(session, existing, model=model, benchmark=benchmark, path=path)
    try:
        with session_factory() as session, session.begin():
            writer = _RunWriter(
                session=session,
                format_name=format_name,
                path=path,
                digest=digest,
                options={
                    "model": model,
                    "benchmark": benchmark,
                    "kind": model_kind,
                    "base_model": base_model,
                },
                chunk_size=chunk_size,
                progress=progress,
            )
            return writer.consume(records)
    except IntegrityError as exc:
        # Another process imported the same file between our check and our commit.
        with session_factory() as session:
            existing = _existing_import(session, digest)
            if existing is not None:
                return _check_reimport(session, existing, model=model, benchmark=benchmark, path=path)
        raise ConflictError(f"{path}: the store refused the import: {exc.orig}") from exc


def _existing_import(session: Session, digest: str) -> Run | None:
    return session.scalar(select(Run).where(Run.import_sha256 == digest))


def _check_reimport(
    session: Session, run: Run, *, model: str | None, benchmark: str | None, path: Path
) -> ImportResult:
    stored_model = session.get(Model, run.model_id)
    stored_benchmark = session.get(Benchmark, run.benchmark_id)
    assert stored_model is not None and stored_benchmark is not None
    if (model is not None and model != stored_model.name) or (
        benchmark is not None and benchmark != stored_benchmark.name
    ):
        raise ConflictError(
            f"{path} was already imported as run {run.id} (model {stored_model.name!r}, benchmark "
            f"{stored_benchmark.name!r}); the same file cannot be a second model's results"
        )
    return ImportResult(run_id=run.id, created=False, problems=0, samples=0, counts_only=not run.has_samples)


class _RunWriter:
    """Consumes parsed records and writes one run, chunk by chunk, inside the caller's transaction."""

    def __init__(
        self,
        *,
        session: Session,
        format_name: str,
        path: Path,
        digest: str,
        options: dict[str, Any],
        chunk_size: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.session = session
        self.format_name = format_name
        self.path = path
        self.digest = digest
        self.options = options
        self.chunk_size = chunk_size
        self.progress = progress
        self.run: Run | None = None
        self.benchmark_id: int | None = None
        self.problem_ids: dict[str, int] = {}
        self.pending_problems: list[tuple[int, ProblemRecord]] = []
        self.pending_samples: list[tuple[int, SampleRecord]] = []
        self.pending_counts: list[tuple[int, CountRecord]] = []
        self.seen_problems: set[str] = set()
        self.n_samples = 0
        self.n_counts = 0
        self.max_n = 0
        self.kind: str | None = None

    def consume(self, records: Iterator[tuple[int, Record]]) -> ImportResult:
        header = HeaderRecord()
        for line, record in records:
            if isinstance(record, HeaderRecord):
                if self.run is not None:
                    raise ImportFormatError(str(self.path), line, "a header must be the first record")
                header = record
                continue
            if self.run is None:
                self._start_run(header, line)
            if isinstance(record, ProblemRecord):
                self._problem(line, record)
            elif isinstance(record, SampleRecord):
                self._mixed_check(line, "sample")
                self.pending_samples.append((line, record))
                if len(self.pending_samples) >= self.chunk_size:
                    self._flush_samples()
            elif isinstance(record, CountRecord):
                self._mixed_check(line, "count")
                self.pending_counts.append((line, record))
                if len(self.pending_counts) >= self.chunk_size:
                    self._flush_counts()
        if self.run is None:
            raise ImportFormatError(str(self.path), None, "the file holds no samples or counts")
        self._flush_problems()
        self._flush_samples()
        self._flush_counts()
        return self._finish()

    def _mixed_check(self, line: int, kind: str) -> None:
        if self.kind is None:
            self.kind = kind
        elif self.kind != kind:
            raise ImportFormatError(str(self.path), line, f"a {kind} record in a file of {self.kind} records")

    def _start_run(self, header: HeaderRecord, line: int) -> None:
        model_name = self.options["model"] or header.model
        benchmark_name = self.options["benchmark"] or header.benchmark
        if not model_name:
            raise InvalidInputError(f"{self.path} names no model: give --model", field="model")
        if not benchmark_name:
            raise InvalidInputError(f"{self.path} names no benchmark: give --benchmark", field="benchmark")
        kind = self.options["kind"] or parse_model_kind(header.model_kind, field=f"{self.path}:1 model.kind")
        benchmark = get_or_create_benchmark(
            session=self.session, name=benchmark_name, source=header.benchmark_source
        )
        model = get_or_create_model(
            session=self.session,
            name=model_name,
            kind=kind,
            base_model=self.options["base_model"] or header.base_model,
            source=header.model_source,
            revision=header.model_revision,
        )
        self.benchmark_id = benchmark.id
        self.problem_ids = problem_ids_by_key(session=self.session, benchmark_id=benchmark.id)
        run_facts = dict(header.run)
        provenance = dict(run_facts.pop("provenance", None) or {})
        provenance["import"] = {
            "format": self.format_name,
            "file": self.path.name,
            "sha256": self.digest,
            "bytes": self.path.stat().st_size,
            "coverscope_version": app.__version__,
            "imported_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "host": socket.gethostname(),
        }
        if self.format_name != "samples":
            # The published file the evidence came from; kept through export and re-import.
            provenance.setdefault(
                "origin", {k: provenance["import"][k] for k in ("format", "file", "sha256")}
            )
        self.run = Run(
            name=run_facts.get("name"),
            model_id=model.id,
            benchmark_id=benchmark.id,
            engine=run_facts.get("engine") or ENGINE_BY_FORMAT[self.format_name],
            prompt_template=run_facts.get("prompt_template"),
            temperature=run_facts.get("temperature"),
            top_p=run_facts.get("top_p"),
            max_tokens=run_facts.get("max_tokens"),
            seed=run_facts.get("seed"),
            sampling=run_facts.get("sampling") or {},
            n_per_problem=max(1, int(run_facts.get("n_per_problem") or 1)),
            grader=run_facts.get("grader") or GRADER_BY_FORMAT.get(self.format_name),
            grader_version=run_facts.get("grader_version"),
            status=RunStatus.running,
            provenance=provenance,
            import_sha256=self.digest,
            started_at=datetime.now(UTC),
        )
        self.session.add(self.run)
        self.session.flush()

    def _problem(self, line: int, record: ProblemRecord) -> None:
        if record.key in self.seen_problems:
            raise ImportFormatError(str(self.path), line, f"problem {record.key!r} is described twice")
        self.seen_problems.add(record.key)
        self.pending_problems.append((line, record))
        if len(self.pending_problems) >= self.chunk_size:
            self._flush_problems()

    def _flush_problems(self) -> None:
        """Insert the new problems of the buffer in bulk; fill in or check the ones already stored."""
        if not self.pending_problems:
            return
        fresh = [(line, r) for line, r in self.pending_problems if r.key not in self.problem_ids]
        known = [(line, r) for line, r in self.pending_problems if r.key in self.problem_ids]
        self.pending_problems.clear()
        self.problem_ids.update(
            insert_problems(
                session=self.session,
                benchmark_id=self._benchmark_id,
                rows=[
                    {
                        "key": r.key,
                        "statement": r.statement,
                        "answer": r.answer,
                        "tests": r.tests,
                        "meta": r.meta,
                    }
                    for _, r in fresh
                ],
            )
        )
        if not known:
            return
        stored = {
            p.key: p
            for p in self.session.scalars(
                select(Problem).where(Problem.id.in_([self.problem_ids[r.key] for _, r in known]))
            )
        }
        for line, record in known:
            problem = stored[record.key]
            field = fill_problem(
                problem,
                statement=record.statement,
                answer=record.answer,
                tests=record.tests,
                meta=record.meta,
            )
            if field is not None:
                raise ImportFormatError(
                    str(self.path),
                    line,
                    f"problem {record.key!r} already has a different {field} in benchmark "
                    f"{self._benchmark_name()!r} (stored {_clip(getattr(problem, field))!r}, "
                    f"file {_clip(getattr(record, field))!r})",
                )

    @property
    def _benchmark_id(self) -> int:
        assert self.benchmark_id is not None
        return self.benchmark_id

    def _benchmark_name(self) -> str:
        benchmark = self.session.get(Benchmark, self._benchmark_id)
        return benchmark.name if benchmark else "?"

    def _resolve(self, keys: list[str]) -> None:
        """Create problems the file refers to but never described (key only)."""
        missing = []
        for key in keys:
            if key not in self.problem_ids and key not in missing:
                missing.append(key)
        if missing:
            self.problem_ids.update(
                insert_problems(
                    session=self.session,
                    benchmark_id=self._benchmark_id,
                    rows=[{"key": key} for key in missing],
                )
            )

    def _flush_samples(self) -> None:
        if not self.pending_samples:
            return
        assert self.run is not None
        self._flush_problems()
        self._resolve([record.problem_key for _, record in self.pending_samples])
        rows = [
            {
                "run_id": self.run.id,
                "problem_id": self.problem_ids[record.problem_key],
                "idx": record.index,
                "text": record.text,
                "answer": record.answer,
                "verdict": record.verdict,
                "num_tokens": record.num_tokens,
                "finish_reason": record.finish_reason,
                "grader_detail": record.grader_detail,
            }
            for _, record in self.pending_samples
        ]
        self.n_samples += insert_samples(session=self.session, rows=rows)
        if self.progress:
            self.progress(len(rows))
        self.pending_samples.clear()

    def _flush_counts(self) -> None:
        if not self.pending_counts:
            return
        assert self.run is not None
        self._flush_problems()
        self._resolve([record.problem_key for _, record in self.pending_counts])
        rows = [
            {
                "run_id": self.run.id,
                "problem_id": self.problem_ids[record.problem_key],
                "n": record.n,
                "correct": record.correct,
                "errors": 0,
                "ungraded": 0,
            }
            for _, record in self.pending_counts
        ]
        self.session.execute(insert(ProblemStat), rows)
        self.n_counts += len(rows)
        self.max_n = max(self.max_n, *(record.n for _, record in self.pending_counts))
        if self.progress:
            self.progress(len(rows))
        self.pending_counts.clear()

    def _finish(self) -> ImportResult:
        run = self.run
        assert run is not None
        if self.kind is None:
            raise ImportFormatError(
                str(self.path), None, "the file describes problems but holds no samples or counts"
            )
        counts_only = self.kind == "count"
        if counts_only:
            total = (
                self.session.execute(select(ProblemStat.n).where(ProblemStat.run_id == run.id))
                .scalars()
                .all()
            )
            run.has_samples = False
            run.samples_done = run.samples_total = int(sum(total))
            run.n_per_problem = max(self.max_n, 1)
            problems = self.n_counts
        else:
            refresh_problem_stats(session=self.session, run_id=run.id)
            per_problem = (
                self.session.execute(
                    select(ProblemStat.n + ProblemStat.ungraded).where(ProblemStat.run_id == run.id)
                )
                .scalars()
                .all()
            )
            run.has_samples = True
            run.samples_done = run.samples_total = self.n_samples
            if not run.n_per_problem or run.n_per_problem == 1:
                run.n_per_problem = max(max(per_problem, default=1), 1)
            problems = len(per_problem)
        run.status = RunStatus.done
        run.finished_at = datetime.now(UTC)
        self.session.flush()
        return ImportResult(
            run_id=run.id,
            created=True,
            problems=problems,
            samples=self.n_samples,
            counts_only=counts_only,
        )


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
