"""Read models for the dashboard that the other services do not give: the runs overview, coverage tiles
with their histograms under metadata filters, and pass@k curves per metadata value."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Float, case, cast, func, select
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError
from app.models import Problem, ProblemStat
from app.services.analysis import aligned_counts, run_summary
from app.services.browse import _natural_key, _scalar_text
from app.services.runs import list_runs, run_counts
from app.stats import accuracy_histogram, coverage_sets, pass_at_k_curve

MAX_FACETS = 12


@dataclass(frozen=True)
class RunOverview:
    """One run as the runs table shows it: identity, sampling settings, progress and headline numbers.

    `pass_at_1` is the mean of c/n over problems; `pass_at_n` the fraction of problems with at least one
    correct sample among their n (pass@k at k = n, the paper's coverage). Both are None before grading.
    """

    id: int
    name: str | None
    model: str
    kind: str
    base_model: str | None
    benchmark_id: int
    benchmark: str
    engine: str
    n: int
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    status: str
    samples_done: int
    samples_total: int
    problems: int
    pass_at_1: float | None
    pass_at_n: float | None
    has_samples: bool


def run_overview(*, session: Session, benchmark: str | None = None) -> list[RunOverview]:
    """Every run (newest first, optionally of one benchmark) with its pass@1 and pass@n from problem_stat."""
    runs = list_runs(session=session, benchmark=benchmark)
    if not runs:
        return []
    ratio = cast(ProblemStat.correct, Float) / ProblemStat.n
    stats = {
        run_id: (problems, p1, pn)
        for run_id, problems, p1, pn in session.execute(
            select(
                ProblemStat.run_id,
                func.count(),
                func.avg(ratio),
                func.avg(case((ProblemStat.correct > 0, 1.0), else_=0.0)),
            )
            .where(ProblemStat.run_id.in_([r.id for r in runs]), ProblemStat.n > 0)
            .group_by(ProblemStat.run_id)
        )
    }
    out = []
    for run in runs:
        problems, p1, pn = stats.get(run.id, (0, None, None))
        out.append(
            RunOverview(
                id=run.id,
                name=run.name,
                model=run.model.name,
                kind=run.model.kind.value,
                base_model=run.model.base_model.name if run.model.base_model else None,
                benchmark_id=run.benchmark_id,
                benchmark=run.benchmark.name,
                engine=run.engine,
                n=run.n_per_problem,
                temperature=run.temperature,
                top_p=run.top_p,
                max_tokens=run.max_tokens,
                status=run.status.value,
                samples_done=int(run.samples_done or 0),
                samples_total=int(run.samples_total or 0),
                problems=int(problems),
                pass_at_1=None if p1 is None else float(p1),
                pass_at_n=None if pn is None else float(pn),
                has_samples=bool(run.has_samples),
            )
        )
    return out


def _problem_meta(session: Session, benchmark_id: int) -> dict[int, dict[str, Any]]:
    return {
        pid: meta if isinstance(meta, dict) else {}
        for pid, meta in session.execute(
            select(Problem.id, Problem.meta).where(Problem.benchmark_id == benchmark_id)
        )
    }


def _matches(meta: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    return all(_scalar_text(meta.get(key)) == value for key, value in wanted.items())


def coverage_summary(
    *,
    session: Session,
    a: int,
    b: int,
    k: int,
    meta: Mapping[str, str] | None = None,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Counts of the four coverage sets of runs A and B at k and both runs' accuracy histograms, over the
    problems both runs have that match every `meta` filter (value as text)."""
    ca, cb, alignment = aligned_counts(session=session, a=a, b=b)
    max_k = int(min(ca.n.min(), cb.n.min()))
    if isinstance(k, bool) or not 1 <= k <= max_k:
        raise InvalidInputError(f"must be between 1 and {max_k} (the smallest n of the two runs)", field="k")
    keep = np.ones(len(ca.keys), dtype=bool)
    if meta:
        metas = _problem_meta(session, ca.run.benchmark_id)
        keep = np.array([_matches(metas.get(int(pid), {}), meta) for pid in ca.problem_ids], dtype=bool)
    selected = int(keep.sum())
    counts = {"both": 0, "only_a": 0, "only_b": 0, "neither": 0}
    histograms = None
    if selected:
        cov = coverage_sets(
            ca.correct[keep], ca.n[keep], cb.correct[keep], cb.n[keep], k, threshold=threshold
        )
        counts = {name: int(getattr(cov, name).size) for name in counts}
        histograms = {
            "a": accuracy_histogram(ca.correct[keep], ca.n[keep]),
            "b": accuracy_histogram(cb.correct[keep], cb.n[keep]),
        }
    return {
        "a": run_summary(ca),
        "b": run_summary(cb),
        "k": k,
        "max_k": max_k,
        "threshold": threshold,
        "benchmark_id": ca.run.benchmark_id,
        "problems": selected,
        **alignment,
        "counts": counts,
        "histograms": histograms,
    }


def faceted_curves(
    *, session: Session, run_ids: Sequence[int], facet: str, max_facets: int = MAX_FACETS
) -> dict[str, list[dict[str, Any]]]:
    """pass@k curves (k = 1..smallest n) of each run per value of the metadata key `facet`.

    Values are ordered naturally ("Level 2" before "Level 10"); at most `max_facets` of them (the most
    common) are returned. Each entry has run_id, model, kind, problems, ks and pass_at_k.
    """
    if not run_ids:
        raise InvalidInputError("give at least one run", field="runs")
    counts = [run_counts(session=session, run_id=r) for r in run_ids]
    metas: dict[int, dict[int, dict[str, Any]]] = {}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    sizes: dict[str, int] = defaultdict(int)
    for rc in counts:
        bench = rc.run.benchmark_id
        if bench not in metas:
            metas[bench] = _problem_meta(session, bench)
        values = [_scalar_text(metas[bench].get(int(pid), {}).get(facet)) for pid in rc.problem_ids]
        groups: dict[str, list[int]] = defaultdict(list)
        for i, value in enumerate(values):
            if value is not None:
                groups[value].append(i)
        for value, idx in groups.items():
            pos = np.asarray(idx)
            ks, mean = pass_at_k_curve(rc.correct[pos], rc.n[pos], None)
            sizes[value] = max(sizes[value], len(idx))
            out[value].append(
                {
                    **run_summary(rc),
                    "problems": len(idx),
                    "ks": [int(x) for x in ks],
                    "pass_at_k": [None if np.isnan(v) else float(v) for v in mean],
                }
            )
    top = sorted(sizes, key=lambda v: -sizes[v])[:max_facets]
    return {value: out[value] for value in sorted(top, key=_natural_key)}


def meta_text(value: Any) -> str | None:
    """A metadata value as the text filters compare (None for lists and objects)."""
    return _scalar_text(value)
