"""pass@k curves, base-vs-RL comparisons and accuracy histograms (all read problem_stat only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep, SettingsDep
from app.api.routes.params import ROUTER_OPTIONS
from app.api.schemas import MAX_ID, CompareOut, CurvesOut, HistogramOut, HistogramRunOut
from app.services import analysis, browse

router = APIRouter(tags=["analysis"], **ROUTER_OPTIONS)

RunIds = Annotated[
    list[Annotated[int, Query(ge=1, le=MAX_ID)]],
    Query(min_length=1, max_length=50, description="Run ids (repeat the parameter: runs=1&runs=2)."),
]
Seed = Annotated[
    int, Query(ge=0, le=2**32 - 1, description="Random seed of the bootstrap (same seed, same result).")
]
Bootstrap = Annotated[int | None, Query(ge=2, le=20_000, description="Bootstrap resamples.")]


@router.get("/curves", response_model=CurvesOut)
def curves(
    session: SessionDep,
    settings: SettingsDep,
    runs: RunIds,
    ks: Annotated[
        list[Annotated[int, Query(ge=1, le=1_000_000)]] | None,
        Query(max_length=10_000, description="ks (default: 1 to each run's smallest n)."),
    ] = None,
    ci: Annotated[bool, Query(description="Add percentile-bootstrap intervals over problems.")] = False,
    confidence: Annotated[float, Query(gt=0, lt=1, description="Interval confidence.")] = 0.95,
    bootstrap: Bootstrap = None,
    seed: Seed = 0,
) -> CurvesOut:
    """pass@k curves of runs at every k up to each run's smallest n (or at `ks`), with intervals if `ci`."""
    result = analysis.curves(
        session=session,
        run_ids=list(runs),
        ks=ks,
        ci=ci,
        bootstrap=bootstrap or settings.default_bootstrap,
        confidence=confidence,
        seed=seed,
    )
    return CurvesOut.model_validate(result)


@router.get("/compare", response_model=CompareOut)
def compare(
    session: SessionDep,
    settings: SettingsDep,
    a: Annotated[int, Query(ge=1, le=MAX_ID, description="Run A (e.g. the base model).")],
    b: Annotated[int, Query(ge=1, le=MAX_ID, description="Run B (e.g. the RL model).")],
    k: Annotated[int, Query(ge=1, le=1_000_000, description="The k of the coverage sets.")],
    threshold: Annotated[float, Query(gt=0, le=1, description="Solved means pass@k >= threshold.")] = 0.5,
    alpha: Annotated[float, Query(gt=0, lt=1, description="Simultaneous error level of the band.")] = 0.05,
    bootstrap: Bootstrap = None,
    seed: Seed = 0,
) -> CompareOut:
    """Coverage sets of A and B at k (both, only A, only B, neither) with evidence, and the simultaneous band
    of pass@k(B) - pass@k(A) over k with the first-loss interval."""
    result = analysis.compare(
        session=session,
        a=a,
        b=b,
        k=k,
        threshold=threshold,
        alpha=alpha,
        bootstrap=bootstrap or settings.default_bootstrap,
        seed=seed,
    )
    return CompareOut.model_validate(result)


@router.get("/histogram", response_model=HistogramOut)
def histogram(session: SessionDep, runs: RunIds) -> HistogramOut:
    """Histogram of per-problem accuracy c/n for each run."""
    return HistogramOut(
        runs=[
            HistogramRunOut.model_validate(h)
            for h in browse.accuracy_histograms(session=session, run_ids=list(runs))
        ]
    )
