"""One problem with its per-run rows, and the answer clusters of its samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.api.routes.params import ROUTER_OPTIONS, IdPath, OptionalRunIds
from app.api.schemas import AnswerClusterOut, ProblemOut, ProblemRunOut
from app.services import browse

router = APIRouter(tags=["problems"], **ROUTER_OPTIONS)


@router.get("/problems/{problem_id}", response_model=ProblemOut)
def get_problem(
    problem_id: IdPath,
    session: SessionDep,
    runs: OptionalRunIds = None,
    ks: Annotated[
        list[Annotated[int, Query(ge=1, le=1_000_000)]] | None,
        Query(max_length=1000, description="ks for pass@k (default: powers of two up to n, and n)."),
    ] = None,
) -> ProblemOut:
    """A problem in full with one row per run (n, correct, errors, pass@k at the ks)."""
    detail = browse.get_problem(session=session, problem_id=problem_id, run_ids=runs, ks=ks)
    return ProblemOut(
        id=detail.id,
        key=detail.key,
        position=detail.position,
        benchmark_id=detail.benchmark_id,
        benchmark=detail.benchmark,
        statement=detail.statement,
        answer=detail.answer,
        tests=detail.tests,
        meta=detail.meta,
        runs=[
            ProblemRunOut(
                run_id=r.run_id,
                model=r.model,
                kind=r.kind,
                n=r.n,
                correct=r.correct,
                errors=r.errors,
                ungraded=r.ungraded,
                pass_at_k={str(k): v for k, v in r.pass_at_k.items()},
            )
            for r in detail.runs
        ],
    )


@router.get("/problems/{problem_id}/answers", response_model=list[AnswerClusterOut])
def answer_clusters(
    problem_id: IdPath, session: SessionDep, runs: OptionalRunIds = None
) -> list[AnswerClusterOut]:
    """Distinct extracted answers of the problem's samples, with counts per run and correctness."""
    return [
        AnswerClusterOut(
            answer=c.answer, correct=c.correct, counts={str(k): v for k, v in c.counts.items()}, total=c.total
        )
        for c in browse.answer_clusters(session=session, problem_id=problem_id, run_ids=runs)
    ]
