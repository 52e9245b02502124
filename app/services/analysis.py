"""pass@k curves and base-vs-RL comparisons of stored runs (reads problem_stat, never the samples)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.core.errors import InvalidInputError
from app.services.runs import RunCounts, run_counts
from app.stats import (
    CoverageEvidence,
    coverage_sets,
    curve_interval,
    difference_band,
    pass_at_k_curve,
)


def _clean(values: np.ndarray) -> list[float | None]:
    """JSON-ready floats: NaN becomes None."""
    return [None if math.isnan(v) else float(v) for v in np.asarray(values, dtype=float)]


def _check_ks(ks: list[int] | None, max_k: int, *, field: str = "ks") -> list[int] | None:
    if ks is None:
        return None
    ks = sorted(set(ks))
    if not ks or ks[0] < 1:
        raise InvalidInputError("every k must be a positive integer", field=field)
    if ks[-1] > max_k:
        raise InvalidInputError(
            f"k={ks[-1]} exceeds the smallest number of samples per problem ({max_k}); "
            "pass@k is undefined there",
            field=field,
        )
    return ks


def run_summary(counts: RunCounts) -> dict[str, Any]:
    """Identity of a run as the JSON outputs print it."""
    run = counts.run
    return {
        "run_id": run.id,
        "model": run.model.name,
        "kind": run.model.kind.value,
        "base_model": run.model.base_model.name if run.model.base_model else None,
        "benchmark": run.benchmark.name,
        "problems": len(counts.keys),
        "n_min": int(counts.n.min()),
        "n_max": int(counts.n.max()),
    }


def curves(
    *,
    session: Session,
    run_ids: list[int],
    ks: list[int] | None = None,
    ci: bool = False,
    bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """pass@k for every k from 1 to each run's smallest n (or `ks`), with bootstrap intervals when `ci`."""
    if not run_ids:
        raise InvalidInputError("give at least one run", field="runs")
    out = []
    for run_id in run_ids:
        counts = run_counts(session=session, run_id=run_id)
        run_ks = _check_ks(ks, int(counts.n.min()))
        entry = run_summary(counts)
        if ci:
            est = curve_interval(
                counts.correct, counts.n, run_ks, bootstrap=bootstrap, confidence=confidence, seed=seed
            )
            entry.update(
                ks=[int(k) for k in est.ks],
                pass_at_k=_clean(est.mean),
                lower=_clean(est.lower),
                upper=_clean(est.upper),
            )
        else:
            curve_ks, mean = pass_at_k_curve(counts.correct, counts.n, run_ks)
            entry.update(ks=[int(k) for k in curve_ks], pass_at_k=_clean(mean), lower=None, upper=None)
        out.append(entry)
    return {
        "runs": out,
        "interval": {
            "method": "percentile bootstrap over problems",
            "confidence": confidence,
            "bootstrap": bootstrap,
            "seed": seed,
        }
        if ci
        else None,
    }


def aligned_counts(*, session: Session, a: int, b: int) -> tuple[RunCounts, RunCounts, dict[str, Any]]:
    """Counts of runs A and B restricted to the problems both have, in the same order."""
    ca = run_counts(session=session, run_id=a)
    cb = run_counts(session=session, run_id=b)
    if ca.run.benchmark_id != cb.run.benchmark_id:
        raise InvalidInputError(
            f"run {a} is on benchmark {ca.run.benchmark.name!r} and run {b} on {cb.run.benchmark.name!r}; "
            "a comparison needs the same problems",
            field="b",
        )
    common, ia, ib = np.intersect1d(ca.problem_ids, cb.problem_ids, assume_unique=True, return_indices=True)
    if common.size == 0:
        raise InvalidInputError(f"runs {a} and {b} have no graded problem in common", field="b")
    order = np.argsort(ia, kind="stable")  # keep A's benchmark order
    ia, ib = ia[order], ib[order]

    def take(c: RunCounts, idx: np.ndarray) -> RunCounts:
        return RunCounts(
            run=c.run,
            problem_ids=c.problem_ids[idx],
            keys=[c.keys[i] for i in idx],
            correct=c.correct[idx],
            n=c.n[idx],
        )

    alignment = {
        "problems_compared": int(common.size),
        "only_in_a": len(ca.keys) - int(common.size),
        "only_in_b": len(cb.keys) - int(common.size),
    }
    return take(ca, ia), take(cb, ib), alignment


def compare(
    *,
    session: Session,
    a: int,
    b: int,
    k: int,
    bootstrap: int = 4000,
    alpha: float = 0.05,
    seed: int = 0,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Coverage sets at k (with evidence) and the simultaneous band of pass@k(B) - pass@k(A) over k."""
    ca, cb, alignment = aligned_counts(session=session, a=a, b=b)
    max_k = int(min(ca.n.min(), cb.n.min()))
    _check_ks([k], max_k, field="k")
    if not 0 < threshold <= 1:
        raise InvalidInputError("must be in (0, 1]", field="threshold")
    if not 0 < alpha < 1:
        raise InvalidInputError("must be in (0, 1)", field="alpha")
    if bootstrap < 2:
        raise InvalidInputError("must be at least 2", field="bootstrap")
    cov = coverage_sets(ca.correct, ca.n, cb.correct, cb.n, k, threshold=threshold)
    keys = ca.keys

    def evidence(positions: np.ndarray, ev: CoverageEvidence) -> list[dict[str, Any]]:
        return [
            {
                "problem": keys[p],
                "c_a": int(ca.correct[p]),
                "n_a": int(ca.n[p]),
                "c_b": int(cb.correct[p]),
                "n_b": int(cb.n[p]),
                "p_value": float(ev.p_value[i]),
                "q_value": float(ev.q_value[i]),
                "p_binomial": float(ev.p_binomial[i]),
            }
            for i, p in enumerate(positions)
        ]

    result: dict[str, Any] = {
        "k": k,
        "threshold": threshold,
        "a": run_summary(ca),
        "b": run_summary(cb),
        **alignment,
        "both": [keys[p] for p in cov.both],
        "only_a": [keys[p] for p in cov.only_a],
        "only_b": [keys[p] for p in cov.only_b],
        "neither": [keys[p] for p in cov.neither],
        "evidence": {
            "only_a": evidence(cov.only_a, cov.evidence_a),
            "only_b": evidence(cov.only_b, cov.evidence_b),
        },
    }
    if len(keys) >= 2:
        band = difference_band(
            ca.correct, ca.n, cb.correct, cb.n, bootstrap=bootstrap, alpha=alpha, seed=seed
        )
        diff = band.to_dict()
        result["difference"] = {
            "ks": diff["ks"],
            "mean": diff["mean"],
            "lower": diff["lower"],
            "upper": diff["upper"],
            "b_better": diff["b_better"],
            "b_worse": diff["b_worse"],
            "undetermined": diff["undetermined"],
            "first_loss_interval": diff["first_loss_interval"],
            "certified_crossing": diff["certified_crossing"],
            "critical_value": diff["critical_value"],
            "alpha": alpha,
            "bootstrap": bootstrap,
            "seed": seed,
            "direction": "B minus A",
            "method": "passk-inference simultaneous band (Gaussian multiplier sup-t over problems)",
        }
    else:
        result["difference"] = None
    return result
