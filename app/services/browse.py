"""Browsing the store: benchmarks, models, problems, samples, answer clusters and annotations.

Shared by the API and the dashboard. Listings read `problem_stat` wherever counts are enough, page with a
total and a stable order, and never scan every sample of a run to answer one page.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import numpy as np
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError, NotFoundError
from app.models import (
    Annotation,
    AnnotationLabel,
    Benchmark,
    Model,
    ModelKind,
    Problem,
    ProblemStat,
    Run,
    Sample,
    Verdict,
)
from app.services.analysis import aligned_counts, run_summary
from app.services.runs import run_counts
from app.stats import accuracy_histogram, coverage_sets, mean_accuracy

T = TypeVar("T")

PREVIEW_CHARS = 200
MAX_LIMIT = 1000
# Scalar meta keys with more distinct values than this (ids, sources) are not offered as facets.
MAX_FACET_VALUES = 100
AUTHOR_MAX = 200

CoverageWhich = Literal["both", "only_a", "only_b", "neither"]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: the items, how many match in all, and where the page starts."""

    items: list[T]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class BenchmarkInfo:
    """A benchmark with its number of problems and the metadata keys its problems carry."""

    id: int
    name: str
    problems: int
    meta_keys: list[str]


@dataclass(frozen=True)
class ModelInfo:
    """A model with its lineage (the model it was trained from) and its number of runs."""

    id: int
    name: str
    kind: str
    base_model_id: int | None
    base_model: str | None
    runs: int


@dataclass(frozen=True)
class CoverageFilter:
    """Keep the problems in one coverage set of runs `a` and `b` at `k` (solved means pass@k >= threshold)."""

    a: int
    b: int
    k: int
    which: CoverageWhich
    threshold: float = 0.5


@dataclass(frozen=True)
class RunCell:
    """A run's counts on one problem: graded samples `n`, `correct` among them, `errors` (timeout/error)."""

    n: int
    correct: int
    errors: int


@dataclass(frozen=True)
class ProblemRow:
    """A problem in a listing with its per-run counts (and the evidence behind an "only" coverage set)."""

    id: int
    key: str
    position: int
    meta: dict[str, Any]
    answer: str | None
    per_run: dict[int, RunCell]
    evidence: dict[str, Any] | None = None


@dataclass(frozen=True)
class ProblemRunRow:
    """One run's result on one problem, with pass@k at the requested k (k <= n only)."""

    run_id: int
    model: str
    kind: str
    n: int
    correct: int
    errors: int
    ungraded: int
    pass_at_k: dict[int, float]


@dataclass(frozen=True)
class ProblemDetail:
    """A problem with everything stored about it and its per-run rows."""

    id: int
    key: str
    position: int
    benchmark_id: int
    benchmark: str
    statement: str | None
    answer: str | None
    tests: str | None
    meta: dict[str, Any]
    runs: list[ProblemRunRow]


@dataclass(frozen=True)
class SampleRow:
    """A sample in a listing: identity, grade and the first characters of its text."""

    id: int
    run_id: int
    problem_id: int
    problem_key: str
    idx: int
    answer: str | None
    verdict: str
    num_tokens: int | None
    finish_reason: str | None
    preview: str


@dataclass(frozen=True)
class AnnotationRow:
    """A person's label on a sample."""

    id: int
    sample_id: int
    run_id: int
    problem_id: int
    label: str
    note: str | None
    author: str | None
    created_at: datetime


@dataclass(frozen=True)
class SampleDetail:
    """A sample in full, with its problem's gold answer, its annotations and its neighbours in the run."""

    id: int
    run_id: int
    model: str
    kind: str
    problem_id: int
    problem_key: str
    benchmark: str
    idx: int
    text: str
    answer: str | None
    verdict: str
    num_tokens: int | None
    finish_reason: str | None
    grader_detail: dict[str, Any] | None
    gold_answer: str | None
    annotations: list[AnnotationRow] = field(default_factory=list)
    previous_id: int | None = None
    next_id: int | None = None


@dataclass(frozen=True)
class AnswerCluster:
    """One distinct extracted answer of a problem: how often each run gave it, and whether it is correct.

    `correct` is True when a sample with this answer was graded correct, False when its samples were graded
    and none was correct, None when none of them was graded correct or incorrect.
    """

    answer: str | None
    correct: bool | None
    counts: dict[int, int]
    total: int


# -- helpers ------------------------------------------------------------------------------------------------


def _check_page(offset: int, limit: int) -> None:
    if offset < 0:
        raise InvalidInputError("must be 0 or more", field="offset")
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInputError(f"must be between 1 and {MAX_LIMIT}", field="limit")


def _natural_key(value: str) -> tuple:
    """Sort "Level 2" before "Level 10"."""
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.lower()) for part in re.split(r"(\d+)", value)
    )


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _parse_verdict(verdict: str | Verdict | None) -> Verdict | None:
    if verdict is None:
        return None
    try:
        return Verdict(verdict)
    except ValueError:
        valid = ", ".join(v.value for v in Verdict)
        raise InvalidInputError(f"unknown verdict {verdict!r}; valid: {valid}", field="verdict") from None


def _parse_label(label: str | AnnotationLabel | None) -> AnnotationLabel | None:
    if label is None:
        return None
    try:
        return AnnotationLabel(label)
    except ValueError:
        valid = ", ".join(v.value for v in AnnotationLabel)
        raise InvalidInputError(f"unknown label {label!r}; valid labels: {valid}", field="label") from None


def _require(session: Session, cls: type, ident: int, what: str) -> Any:
    obj = session.get(cls, ident)
    if obj is None:
        raise NotFoundError(what, ident)
    return obj


def _problem_pass_at_k(c: int, n: int, k: int) -> float:
    """Unbiased pass@k of one problem (k <= n), exactly: 1 - C(n-c, k) / C(n, k)."""
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def default_ks(n: int) -> list[int]:
    """The ks shown by default for a problem with n samples: powers of two up to n, and n."""
    if n < 1:
        return []
    ks = [1 << i for i in range(n.bit_length()) if 1 << i <= n]
    return sorted({*ks, n})


# -- benchmarks and models ----------------------------------------------------------------------------------


def list_benchmarks(*, session: Session) -> list[BenchmarkInfo]:
    """Every benchmark, by name, with its number of problems and the metadata keys of its problems."""
    counts = dict(
        session.execute(select(Problem.benchmark_id, func.count()).group_by(Problem.benchmark_id)).all()
    )
    keys: dict[int, set[str]] = defaultdict(set)
    for benchmark_id, meta in session.execute(select(Problem.benchmark_id, Problem.meta)):
        if isinstance(meta, dict):
            keys[benchmark_id].update(meta)
    return [
        BenchmarkInfo(id=b.id, name=b.name, problems=int(counts.get(b.id, 0)), meta_keys=sorted(keys[b.id]))
        for b in session.scalars(select(Benchmark).order_by(Benchmark.name, Benchmark.id))
    ]


def get_benchmark(*, session: Session, benchmark_id: int) -> BenchmarkInfo:
    """One benchmark with its number of problems and metadata keys, or NotFoundError."""
    for info in list_benchmarks(session=session):
        if info.id == benchmark_id:
            return info
    raise NotFoundError("benchmark", benchmark_id)


def list_models(*, session: Session) -> list[ModelInfo]:
    """Every model, by name, with its base model and its number of runs."""
    runs = dict(session.execute(select(Run.model_id, func.count()).group_by(Run.model_id)).all())
    models = list(session.scalars(select(Model).order_by(Model.name, Model.id)))
    names = {m.id: m.name for m in models}
    return [
        ModelInfo(
            id=m.id,
            name=m.name,
            kind=m.kind.value,
            base_model_id=m.base_model_id,
            base_model=names.get(m.base_model_id) if m.base_model_id is not None else None,
            runs=int(runs.get(m.id, 0)),
        )
        for m in models
    ]


def meta_facets(*, session: Session, benchmark_id: int) -> dict[str, list[str]]:
    """Distinct values (as text, sorted naturally) of each scalar metadata key of a benchmark's problems.

    Keys with more than MAX_FACET_VALUES distinct values (ids, sources) are left out: they do not filter.
    """
    _require(session, Benchmark, benchmark_id, "benchmark")
    values: dict[str, set[str]] = defaultdict(set)
    for meta in session.scalars(select(Problem.meta).where(Problem.benchmark_id == benchmark_id)):
        if not isinstance(meta, dict):
            continue
        for key, value in meta.items():
            text = _scalar_text(value)
            if text is not None:
                values[key].add(text)
    return {
        key: sorted(found, key=_natural_key)
        for key, found in sorted(values.items())
        if len(found) <= MAX_FACET_VALUES
    }


# -- problems -----------------------------------------------------------------------------------------------


def _benchmark_run_ids(session: Session, benchmark_id: int) -> list[int]:
    return list(session.scalars(select(Run.id).where(Run.benchmark_id == benchmark_id).order_by(Run.id)))


def _check_runs_on(session: Session, run_ids: Sequence[int], benchmark_id: int, *, field_name: str) -> None:
    found = dict(session.execute(select(Run.id, Run.benchmark_id).where(Run.id.in_(list(run_ids)))).all())
    for run_id in run_ids:
        if run_id not in found:
            raise NotFoundError("run", run_id)
        if found[run_id] != benchmark_id:
            raise InvalidInputError(f"run {run_id} is not on benchmark {benchmark_id}", field=field_name)


def _coverage_selection(
    session: Session, benchmark_id: int, coverage: CoverageFilter
) -> dict[int, dict[str, Any] | None]:
    """Problem id -> evidence (None for both/neither) of the problems in the chosen coverage set."""
    if coverage.which not in ("both", "only_a", "only_b", "neither"):
        raise InvalidInputError("must be one of both, only_a, only_b, neither", field="which")
    _check_runs_on(session, [coverage.a, coverage.b], benchmark_id, field_name="a")
    ca, cb, _ = aligned_counts(session=session, a=coverage.a, b=coverage.b)
    max_k = int(min(ca.n.min(), cb.n.min()))
    if isinstance(coverage.k, bool) or coverage.k < 1 or coverage.k > max_k:
        raise InvalidInputError(
            f"must be between 1 and {max_k} (the smallest number of samples per problem)", field="k"
        )
    if not 0 < coverage.threshold <= 1:
        raise InvalidInputError("must be in (0, 1]", field="threshold")
    cov = coverage_sets(ca.correct, ca.n, cb.correct, cb.n, coverage.k, threshold=coverage.threshold)
    positions: np.ndarray = getattr(cov, coverage.which)
    chosen: dict[int, dict[str, Any] | None] = {}
    evidence = {"only_a": cov.evidence_a, "only_b": cov.evidence_b}.get(coverage.which)
    for i, p in enumerate(positions):
        pid = int(ca.problem_ids[p])
        if evidence is None:
            chosen[pid] = None
        else:
            chosen[pid] = {
                "c_a": int(ca.correct[p]),
                "n_a": int(ca.n[p]),
                "c_b": int(cb.correct[p]),
                "n_b": int(cb.n[p]),
                "p_value": float(evidence.p_value[i]),
                "q_value": float(evidence.q_value[i]),
                "p_binomial": float(evidence.p_binomial[i]),
            }
    return chosen


def _cells(
    session: Session, run_ids: Sequence[int], problem_ids: Sequence[int]
) -> dict[int, dict[int, RunCell]]:
    """problem id -> run id -> counts, from problem_stat."""
    out: dict[int, dict[int, RunCell]] = defaultdict(dict)
    if not run_ids or not problem_ids:
        return out
    rows = session.execute(
        select(
            ProblemStat.problem_id, ProblemStat.run_id, ProblemStat.n, ProblemStat.correct, ProblemStat.errors
        ).where(ProblemStat.run_id.in_(list(run_ids)), ProblemStat.problem_id.in_(list(problem_ids)))
    )
    for pid, rid, n, correct, errors in rows:
        out[pid][rid] = RunCell(n=int(n), correct=int(correct), errors=int(errors))
    return out


def list_problems(
    *,
    session: Session,
    benchmark_id: int,
    run_ids: Sequence[int] = (),
    meta: Mapping[str, str] | None = None,
    coverage: CoverageFilter | None = None,
    search: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[ProblemRow]:
    """A page of a benchmark's problems in position order with per-run counts (from problem_stat).

    `run_ids` chooses the runs whose counts are shown (default: every run on the benchmark); `meta` keeps
    problems whose metadata value (as text) equals the given one for every key; `coverage` keeps one
    coverage set of two runs; `search` matches the key or the statement (case-insensitive).
    """
    _check_page(offset, limit)
    _require(session, Benchmark, benchmark_id, "benchmark")
    run_ids = list(dict.fromkeys(run_ids)) if run_ids else _benchmark_run_ids(session, benchmark_id)
    if run_ids:
        _check_runs_on(session, run_ids, benchmark_id, field_name="runs")
    query = (
        select(Problem.id, Problem.key, Problem.position, Problem.meta, Problem.answer)
        .where(Problem.benchmark_id == benchmark_id)
        .order_by(Problem.position, Problem.id)
    )
    if search:
        query = query.where(
            or_(
                Problem.key.icontains(search, autoescape=True),
                Problem.statement.icontains(search, autoescape=True),
            )
        )
    rows = session.execute(query).all()
    if meta:
        wanted = {k: str(v) for k, v in meta.items()}
        rows = [
            r
            for r in rows
            if isinstance(r.meta, dict) and all(_scalar_text(r.meta.get(k)) == v for k, v in wanted.items())
        ]
    selection = None
    if coverage is not None:
        selection = _coverage_selection(session, benchmark_id, coverage)
        rows = [r for r in rows if r.id in selection]
    page = rows[offset : offset + limit]
    cells = _cells(session, run_ids, [r.id for r in page])
    items = [
        ProblemRow(
            id=r.id,
            key=r.key,
            position=r.position,
            meta=dict(r.meta or {}),
            answer=r.answer,
            per_run=dict(cells.get(r.id, {})),
            evidence=selection.get(r.id) if selection is not None else None,
        )
        for r in page
    ]
    return Page(items=items, total=len(rows), offset=offset, limit=limit)


def get_problem(
    *,
    session: Session,
    problem_id: int,
    run_ids: Sequence[int] | None = None,
    ks: Sequence[int] | None = None,
) -> ProblemDetail:
    """A problem in full with one row per run that has counts on it (or per run of `run_ids`).

    pass@k is given at `ks` (default: powers of two up to n, and n); a k above a run's n is left out.
    """
    problem = _require(session, Problem, problem_id, "problem")
    if ks is not None:
        ks = sorted(set(ks))
        if any(isinstance(k, bool) or k < 1 for k in ks):
            raise InvalidInputError("every k must be a positive integer", field="ks")
    query = (
        select(
            ProblemStat.run_id,
            Model.name,
            Model.kind,
            ProblemStat.n,
            ProblemStat.correct,
            ProblemStat.errors,
            ProblemStat.ungraded,
        )
        .join(Run, Run.id == ProblemStat.run_id)
        .join(Model, Model.id == Run.model_id)
        .where(ProblemStat.problem_id == problem_id)
        .order_by(ProblemStat.run_id)
    )
    if run_ids is not None:
        run_ids = list(dict.fromkeys(run_ids))
        _check_runs_on(session, run_ids, problem.benchmark_id, field_name="runs")
        query = query.where(ProblemStat.run_id.in_(run_ids))
    runs = []
    for run_id, model, kind, n, correct, errors, ungraded in session.execute(query):
        wanted = default_ks(n) if ks is None else [k for k in ks if k <= n]
        runs.append(
            ProblemRunRow(
                run_id=run_id,
                model=model,
                kind=ModelKind(kind).value,
                n=int(n),
                correct=int(correct),
                errors=int(errors),
                ungraded=int(ungraded),
                pass_at_k={k: _problem_pass_at_k(int(correct), int(n), k) for k in wanted},
            )
        )
    benchmark = session.get(Benchmark, problem.benchmark_id)
    return ProblemDetail(
        id=problem.id,
        key=problem.key,
        position=problem.position,
        benchmark_id=problem.benchmark_id,
        benchmark=benchmark.name if benchmark else "?",
        statement=problem.statement,
        answer=problem.answer,
        tests=problem.tests,
        meta=dict(problem.meta or {}),
        runs=runs,
    )


# -- samples ------------------------------------------------------------------------------------------------

_ROW_COLUMNS = (
    Sample.id,
    Sample.run_id,
    Sample.problem_id,
    Problem.key,
    Sample.idx,
    Sample.answer,
    Sample.verdict,
    Sample.num_tokens,
    Sample.finish_reason,
    func.substr(Sample.text, 1, PREVIEW_CHARS),
)
_ORDER = (Sample.run_id, Problem.position, Sample.problem_id, Sample.idx)


def _sample_row(row: Any) -> SampleRow:
    return SampleRow(
        id=row[0],
        run_id=row[1],
        problem_id=row[2],
        problem_key=row[3],
        idx=row[4],
        answer=row[5],
        verdict=Verdict(row[6]).value,
        num_tokens=row[7],
        finish_reason=row[8],
        preview=row[9] or "",
    )


def _segment_size(verdict: Verdict | None) -> ColumnElement[int] | None:
    """How many samples of a (run, problem) match `verdict`, from problem_stat; None when it cannot tell."""
    if verdict is None:
        return ProblemStat.n + ProblemStat.ungraded
    if verdict is Verdict.correct:
        return ProblemStat.correct
    if verdict is Verdict.ungraded:
        return ProblemStat.ungraded
    if verdict is Verdict.incorrect:
        return ProblemStat.n - ProblemStat.correct - ProblemStat.errors
    return None


def list_samples(
    *,
    session: Session,
    run_id: int | None = None,
    problem_id: int | None = None,
    verdict: str | Verdict | None = None,
    answer: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[SampleRow]:
    """A page of samples in (run, problem position, index) order, with the total that match.

    Without an answer filter the total and the page's (run, problem) span come from problem_stat, so a
    page costs the same at any offset; with one, the (problem, ...) index bounds the scan.
    """
    _check_page(offset, limit)
    wanted = _parse_verdict(verdict)
    if run_id is not None:
        _require(session, Run, run_id, "run")
    if problem_id is not None:
        _require(session, Problem, problem_id, "problem")
    size = _segment_size(wanted) if answer is None else None
    if size is not None:
        return _samples_by_segments(session, run_id, problem_id, wanted, size, offset, limit)
    conditions = []
    if run_id is not None:
        conditions.append(Sample.run_id == run_id)
    if problem_id is not None:
        conditions.append(Sample.problem_id == problem_id)
    if wanted is not None:
        conditions.append(Sample.verdict == wanted)
    if answer is not None:
        conditions.append(Sample.answer == answer)
    total = session.scalar(select(func.count()).select_from(Sample).where(*conditions)) or 0
    rows = session.execute(
        select(*_ROW_COLUMNS)
        .join(Problem, Problem.id == Sample.problem_id)
        .where(*conditions)
        .order_by(*_ORDER)
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(items=[_sample_row(r) for r in rows], total=int(total), offset=offset, limit=limit)


def _samples_by_segments(
    session: Session,
    run_id: int | None,
    problem_id: int | None,
    verdict: Verdict | None,
    size: ColumnElement[int],
    offset: int,
    limit: int,
) -> Page[SampleRow]:
    """Page through samples by the (run, problem) segments of problem_stat, whose sizes are known."""
    query = (
        select(ProblemStat.run_id, ProblemStat.problem_id, size)
        .join(Run, Run.id == ProblemStat.run_id)
        .join(Problem, Problem.id == ProblemStat.problem_id)
        .where(Run.has_samples.is_(True), size > 0)
        .order_by(ProblemStat.run_id, Problem.position, ProblemStat.problem_id)
    )
    if run_id is not None:
        query = query.where(ProblemStat.run_id == run_id)
    if problem_id is not None:
        query = query.where(ProblemStat.problem_id == problem_id)
    segments = session.execute(query).all()
    total = 0
    skip = 0
    chosen: dict[int, list[int]] = defaultdict(list)
    for seg_run, seg_problem, seg_size in segments:
        start, total = total, total + int(seg_size)
        if total <= offset or start >= offset + limit:
            continue
        if not chosen:
            skip = offset - start
        chosen[seg_run].append(seg_problem)
    if not chosen:
        return Page(items=[], total=total, offset=offset, limit=limit)
    spans = [and_(Sample.run_id == r, Sample.problem_id.in_(pids)) for r, pids in chosen.items()]
    conditions = [or_(*spans) if len(spans) > 1 else spans[0]]
    if verdict is not None:
        conditions.append(Sample.verdict == verdict)
    rows = session.execute(
        select(*_ROW_COLUMNS)
        .join(Problem, Problem.id == Sample.problem_id)
        .where(*conditions)
        .order_by(*_ORDER)
        .offset(skip)
        .limit(limit)
    ).all()
    return Page(items=[_sample_row(r) for r in rows], total=total, offset=offset, limit=limit)


def _neighbour(session: Session, sample: Sample, position: int, *, forward: bool) -> int | None:
    """The id of the next (or previous) sample of the same run: same problem first, then by position."""
    same = select(Sample.id).where(Sample.run_id == sample.run_id, Sample.problem_id == sample.problem_id)
    if forward:
        same = same.where(Sample.idx > sample.idx).order_by(Sample.idx)
    else:
        same = same.where(Sample.idx < sample.idx).order_by(Sample.idx.desc())
    found = session.scalar(same.limit(1))
    if found is not None:
        return found
    other = (
        select(ProblemStat.problem_id)
        .join(Problem, Problem.id == ProblemStat.problem_id)
        .where(ProblemStat.run_id == sample.run_id, ProblemStat.n + ProblemStat.ungraded > 0)
    )
    if forward:
        other = other.where(Problem.position > position).order_by(Problem.position, Problem.id)
    else:
        other = other.where(Problem.position < position).order_by(Problem.position.desc(), Problem.id.desc())
    next_problem = session.scalar(other.limit(1))
    if next_problem is None:
        return None
    edge = select(Sample.id).where(Sample.run_id == sample.run_id, Sample.problem_id == next_problem)
    edge = edge.order_by(Sample.idx if forward else Sample.idx.desc())
    return session.scalar(edge.limit(1))


def get_sample(*, session: Session, sample_id: int) -> SampleDetail:
    """A sample in full with its annotations and the ids of its neighbours in the run."""
    sample = _require(session, Sample, sample_id, "sample")
    row = session.execute(
        select(Problem.key, Problem.position, Problem.answer, Benchmark.name, Model.name, Model.kind)
        .select_from(Run)
        .join(Model, Model.id == Run.model_id)
        .join(Problem, Problem.id == sample.problem_id)
        .join(Benchmark, Benchmark.id == Problem.benchmark_id)
        .where(Run.id == sample.run_id)
    ).one()
    key, position, gold, benchmark, model, kind = row
    return SampleDetail(
        id=sample.id,
        run_id=sample.run_id,
        model=model,
        kind=ModelKind(kind).value,
        problem_id=sample.problem_id,
        problem_key=key,
        benchmark=benchmark,
        idx=sample.idx,
        text=sample.text,
        answer=sample.answer,
        verdict=sample.verdict.value,
        num_tokens=sample.num_tokens,
        finish_reason=sample.finish_reason,
        grader_detail=sample.grader_detail,
        gold_answer=gold,
        annotations=list_annotations(session=session, sample_id=sample.id, limit=MAX_LIMIT).items,
        previous_id=_neighbour(session, sample, position, forward=False),
        next_id=_neighbour(session, sample, position, forward=True),
    )


def answer_clusters(
    *, session: Session, problem_id: int, run_ids: Sequence[int] | None = None
) -> list[AnswerCluster]:
    """The distinct extracted answers of a problem's samples, with counts per run, most frequent first."""
    problem = _require(session, Problem, problem_id, "problem")
    query = (
        select(Sample.answer, Sample.run_id, Sample.verdict, func.count())
        .where(Sample.problem_id == problem_id)
        .group_by(Sample.answer, Sample.run_id, Sample.verdict)
    )
    if run_ids is not None:
        run_ids = list(dict.fromkeys(run_ids))
        _check_runs_on(session, run_ids, problem.benchmark_id, field_name="runs")
        query = query.where(Sample.run_id.in_(run_ids))
    counts: dict[str | None, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    graded: dict[str | None, set[Verdict]] = defaultdict(set)
    for answer, run_id, verdict, count in session.execute(query):
        counts[answer][run_id] += int(count)
        graded[answer].add(Verdict(verdict))
    clusters = []
    for answer, per_run in counts.items():
        seen = graded[answer]
        correct = True if Verdict.correct in seen else False if Verdict.incorrect in seen else None
        clusters.append(
            AnswerCluster(
                answer=answer,
                correct=correct,
                counts=dict(sorted(per_run.items())),
                total=sum(per_run.values()),
            )
        )
    clusters.sort(key=lambda c: (-c.total, c.answer is None, c.answer or ""))
    return clusters


# -- annotations --------------------------------------------------------------------------------------------


def list_annotations(
    *,
    session: Session,
    sample_id: int | None = None,
    run_id: int | None = None,
    label: str | AnnotationLabel | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page[AnnotationRow]:
    """A page of annotations, oldest first, filtered by sample, run and label."""
    _check_page(offset, limit)
    wanted = _parse_label(label)
    conditions = []
    if sample_id is not None:
        conditions.append(Annotation.sample_id == sample_id)
    if run_id is not None:
        conditions.append(Sample.run_id == run_id)
    if wanted is not None:
        conditions.append(Annotation.label == wanted)
    base = select(Annotation, Sample.run_id, Sample.problem_id).join(
        Sample, Sample.id == Annotation.sample_id
    )
    total = session.scalar(
        select(func.count())
        .select_from(Annotation)
        .join(Sample, Sample.id == Annotation.sample_id)
        .where(*conditions)
    )
    rows = session.execute(base.where(*conditions).order_by(Annotation.id).offset(offset).limit(limit)).all()
    items = [_annotation_row(a, run, problem) for a, run, problem in rows]
    return Page(items=items, total=int(total or 0), offset=offset, limit=limit)


def _annotation_row(a: Annotation, run_id: int, problem_id: int) -> AnnotationRow:
    return AnnotationRow(
        id=a.id,
        sample_id=a.sample_id,
        run_id=run_id,
        problem_id=problem_id,
        label=a.label.value,
        note=a.note,
        author=a.author,
        created_at=a.created_at,
    )


def annotate(
    *, session: Session, sample_id: int, label: str | AnnotationLabel, note: str | None, author: str | None
) -> AnnotationRow:
    """Label a sample (valid_reasoning, flawed_reasoning, lucky_guess, other) and commit."""
    wanted = _parse_label(label)
    if wanted is None:
        raise InvalidInputError("a label is required", field="label")
    if author is not None and len(author) > AUTHOR_MAX:
        raise InvalidInputError(f"must be at most {AUTHOR_MAX} characters", field="author")
    sample = _require(session, Sample, sample_id, "sample")
    annotation = Annotation(sample_id=sample.id, label=wanted, note=note, author=author)
    session.add(annotation)
    session.commit()
    return _annotation_row(annotation, sample.run_id, sample.problem_id)


# -- distributions ------------------------------------------------------------------------------------------


def accuracy_histograms(*, session: Session, run_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Per run: its summary, the histogram of per-problem accuracy c/n and the mean accuracy."""
    if not run_ids:
        raise InvalidInputError("give at least one run", field="runs")
    out = []
    for run_id in run_ids:
        counts = run_counts(session=session, run_id=run_id)
        out.append(
            {
                **run_summary(counts),
                **accuracy_histogram(counts.correct, counts.n),
                "mean_accuracy": mean_accuracy(counts.correct, counts.n),
            }
        )
    return out
