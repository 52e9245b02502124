"""The browse services on a small known store (tests/api/seed.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.core.errors import ConflictError, InvalidInputError, NotFoundError
from app.models import Annotation, Problem, ProblemStat, Run, RunStatus, Sample, WorkUnit, WorkUnitStatus
from app.services import browse
from app.services.browse import CoverageFilter
from app.services.runs import SamplingRequest, cancel_run, create_sampling_run, delete_run
from app.services.work import claim_work_unit
from tests.api.seed import CORRECT_A, CORRECT_B, N, SeededStore, seed_store


@pytest.fixture
def store(sessions: sessionmaker[Session]) -> SeededStore:
    """The seeded store."""
    return seed_store(sessions)


def test_benchmarks_models_and_facets(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        [bench] = browse.list_benchmarks(session=session)
        assert (bench.name, bench.problems, bench.meta_keys) == ("toy", 6, ["level", "source_id", "subject"])
        models = {m.name: m for m in browse.list_models(session=session)}
        assert models["rl-m"].base_model == "base-m" and models["rl-m"].base_model_id == store.base_model_id
        assert models["rl-m"].kind == "rl" and models["base-m"].base_model is None
        assert [models[n].runs for n in ("base-m", "rl-m", "other-m")] == [1, 1, 1]
        facets = browse.meta_facets(session=session, benchmark_id=store.benchmark_id)
        assert facets["level"] == ["Level 1", "Level 2", "Level 10"]
        assert facets["subject"] == ["Algebra", "Geometry"]
        with pytest.raises(NotFoundError, match="benchmark 999"):
            browse.meta_facets(session=session, benchmark_id=999)


def test_problems_with_counts_filters_and_pages(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        page = browse.list_problems(session=session, benchmark_id=store.benchmark_id)
        assert page.total == 6 and [p.key for p in page.items] == [f"p{i}" for i in range(6)]
        p1 = page.items[1]
        assert p1.per_run[store.run_a] == browse.RunCell(n=8, correct=4, errors=0)
        assert p1.per_run[store.run_c].n == 4 and p1.evidence is None
        assert page.items[4].per_run[store.run_a].errors == 1
        assert page.items[4].per_run[store.run_b].n == 8  # the ungraded ninth sample is not counted
        only = browse.list_problems(session=session, benchmark_id=store.benchmark_id, run_ids=[store.run_b])
        assert set(only.items[0].per_run) == {store.run_b}
        algebra = browse.list_problems(
            session=session, benchmark_id=store.benchmark_id, meta={"subject": "Algebra"}
        )
        assert [p.key for p in algebra.items] == ["p0", "p2", "p4"]
        both = browse.list_problems(
            session=session, benchmark_id=store.benchmark_id, meta={"subject": "Algebra", "level": "Level 1"}
        )
        assert [p.key for p in both.items] == ["p2"]
        found = browse.list_problems(session=session, benchmark_id=store.benchmark_id, search="(PROBLEM p3)")
        assert [p.key for p in found.items] == ["p3"]
        pages = [
            browse.list_problems(session=session, benchmark_id=store.benchmark_id, offset=o, limit=4)
            for o in (0, 4)
        ]
        assert [p.key for pg in pages for p in pg.items] == [f"p{i}" for i in range(6)]
        assert all(pg.total == 6 for pg in pages)


@pytest.mark.parametrize(
    ("which", "keys"),
    [("both", ["p0", "p1"]), ("only_a", ["p2", "p5"]), ("only_b", ["p3"]), ("neither", ["p4"])],
)
def test_problems_by_coverage(
    sessions: sessionmaker[Session], store: SeededStore, which: str, keys: list[str]
) -> None:
    with sessions() as session:
        cov = CoverageFilter(a=store.run_a, b=store.run_b, k=N, which=which)
        page = browse.list_problems(session=session, benchmark_id=store.benchmark_id, coverage=cov)
        assert [p.key for p in page.items] == keys and page.total == len(keys)
        for row in page.items:
            if which.startswith("only"):
                i = int(row.key[1:])
                assert (row.evidence["c_a"], row.evidence["c_b"]) == (CORRECT_A[i], CORRECT_B[i])
                assert 0 <= row.evidence["p_value"] <= 1
            else:
                assert row.evidence is None


def test_coverage_and_paging_errors_name_the_field(
    sessions: sessionmaker[Session], store: SeededStore
) -> None:
    with sessions() as session:
        bad = CoverageFilter(a=store.run_a, b=store.run_b, k=9, which="both")
        with pytest.raises(InvalidInputError) as info:
            browse.list_problems(session=session, benchmark_id=store.benchmark_id, coverage=bad)
        assert info.value.field == "k"
        with pytest.raises(NotFoundError, match="run 999"):
            browse.list_problems(
                session=session,
                benchmark_id=store.benchmark_id,
                coverage=CoverageFilter(a=999, b=store.run_b, k=1, which="both"),
            )
        with pytest.raises(InvalidInputError) as info:
            browse.list_samples(session=session, limit=0)
        assert info.value.field == "limit"


def test_problem_detail_has_per_run_pass_at_k(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        detail = browse.get_problem(session=session, problem_id=store.problem_ids[1])
        assert (detail.key, detail.benchmark, detail.answer) == ("p1", "toy", "1")
        rows = {r.run_id: r for r in detail.runs}
        assert set(rows) == {store.run_a, store.run_b, store.run_c}
        a = rows[store.run_a]
        assert (a.model, a.kind, a.n, a.correct) == ("base-m", "base", 8, 4)
        assert list(a.pass_at_k) == [1, 2, 4, 8]
        assert a.pass_at_k[1] == pytest.approx(0.5) and a.pass_at_k[8] == 1.0
        assert a.pass_at_k[2] == pytest.approx(1 - 6 / 28)
        some = browse.get_problem(
            session=session, problem_id=store.problem_ids[1], run_ids=[store.run_c], ks=[1, 6]
        )
        assert [r.run_id for r in some.runs] == [store.run_c]
        assert some.runs[0].pass_at_k == {1: pytest.approx(0.5)}  # k=6 > n=4 is left out, not 1.0
        with pytest.raises(NotFoundError, match="problem 12345"):
            browse.get_problem(session=session, problem_id=12345)


def _all_ordered(session: Session, *conditions) -> list[int]:
    return list(
        session.scalars(
            select(Sample.id)
            .join(Problem, Problem.id == Sample.problem_id)
            .where(*conditions)
            .order_by(Sample.run_id, Problem.position, Sample.idx)
        )
    )


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"run": "a"},
        {"run": "b", "verdict": "correct"},
        {"run": "b", "verdict": "incorrect"},
        {"verdict": "ungraded"},
        {"run": "a", "verdict": "timeout"},
        {"problem": 4},
        {"problem": 1, "answer": "1"},
    ],
)
def test_sample_pages_are_stable_and_totals_exact(
    sessions: sessionmaker[Session], store: SeededStore, filters: dict
) -> None:
    """Pages of 7 concatenate to the whole ordered listing; the total equals a direct count."""
    run_id = {"a": store.run_a, "b": store.run_b}.get(filters.get("run"))
    problem_id = store.problem_ids[filters["problem"]] if "problem" in filters else None
    conditions = []
    if run_id is not None:
        conditions.append(Sample.run_id == run_id)
    if problem_id is not None:
        conditions.append(Sample.problem_id == problem_id)
    if "verdict" in filters:
        conditions.append(Sample.verdict == filters["verdict"])
    if "answer" in filters:
        conditions.append(Sample.answer == filters["answer"])
    kwargs = {
        "run_id": run_id,
        "problem_id": problem_id,
        "verdict": filters.get("verdict"),
        "answer": filters.get("answer"),
    }
    with sessions() as session:
        expected = _all_ordered(session, *conditions)
        assert expected, "each case selects some samples"
        seen, offset = [], 0
        while True:
            page = browse.list_samples(session=session, offset=offset, limit=7, **kwargs)
            assert page.total == len(expected)
            if not page.items:
                break
            seen.extend(s.id for s in page.items)
            offset += 7
        assert seen == expected


def test_sample_rows_and_totals(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        page = browse.list_samples(session=session, run_id=store.run_a, limit=3)
        assert page.total == 6 * N
        first = page.items[0]
        assert (first.problem_key, first.idx, first.verdict, first.answer) == ("p0", 0, "correct", "0")
        assert first.preview.startswith("Solution A-p0-0") and len(first.preview) == browse.PREVIEW_CHARS
        assert browse.list_samples(session=session, run_id=store.run_c).total == 0  # counts only
        assert browse.list_samples(session=session).total == 6 * N * 2 + 1
        with pytest.raises(InvalidInputError) as info:
            browse.list_samples(session=session, verdict="great")
        assert info.value.field == "verdict"
        with pytest.raises(NotFoundError, match="run 999"):
            browse.list_samples(session=session, run_id=999)


def test_sample_detail_walks_the_run(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        ordered = _all_ordered(session, Sample.run_id == store.run_b)
        detail = browse.get_sample(session=session, sample_id=ordered[0])
        assert (detail.model, detail.kind, detail.benchmark, detail.problem_key) == (
            "rl-m",
            "rl",
            "toy",
            "p0",
        )
        assert detail.gold_answer == "0" and detail.previous_id is None
        assert detail.text.startswith("Solution B-p0-0") and detail.grader_detail == {"grader": "test"}
        walked = [detail.id]
        while detail.next_id is not None:
            detail = browse.get_sample(session=session, sample_id=detail.next_id)
            walked.append(detail.id)
        assert walked == ordered
        back = [detail.id]
        while detail.previous_id is not None:
            detail = browse.get_sample(session=session, sample_id=detail.previous_id)
            back.append(detail.id)
        assert back == ordered[::-1]
        with pytest.raises(NotFoundError, match="sample 0"):
            browse.get_sample(session=session, sample_id=0)


def test_answer_clusters(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        clusters = browse.answer_clusters(session=session, problem_id=store.problem_ids[1])
        assert clusters[0].answer == "1" and clusters[0].correct is True
        assert clusters[0].counts == {store.run_a: 4, store.run_b: 8} and clusters[0].total == 12
        wrong = {c.answer: c for c in clusters[1:]}
        assert set(wrong) == {"wrong0", "wrong1"}
        assert all(c.correct is False and c.counts == {store.run_a: 2} for c in wrong.values())
        p4 = browse.answer_clusters(session=session, problem_id=store.problem_ids[4], run_ids=[store.run_b])
        by_answer = {c.answer: c for c in p4}
        assert by_answer["4"].correct is None and by_answer["4"].total == 1  # only an ungraded sample
        assert sum(c.total for c in p4) == N + 1
        timeouts = browse.answer_clusters(
            session=session, problem_id=store.problem_ids[4], run_ids=[store.run_a]
        )
        assert {c.answer: c.correct for c in timeouts}[None] is None


def test_annotations(sessions: sessionmaker[Session], store: SeededStore) -> None:
    with sessions() as session:
        sample_id = _all_ordered(session, Sample.run_id == store.run_a)[10]
        row = browse.annotate(
            session=session, sample_id=sample_id, label="lucky_guess", note="right by luck", author="ann"
        )
        assert (row.sample_id, row.run_id, row.label, row.author) == (
            sample_id,
            store.run_a,
            "lucky_guess",
            "ann",
        )
        browse.annotate(session=session, sample_id=sample_id, label="other", note=None, author=None)
        with pytest.raises(InvalidInputError) as info:
            browse.annotate(session=session, sample_id=sample_id, label="brilliant", note=None, author=None)
        assert info.value.field == "label"
        with pytest.raises(NotFoundError, match="sample 0"):
            browse.annotate(session=session, sample_id=0, label="other", note=None, author=None)
    with sessions() as session:
        page = browse.list_annotations(session=session, run_id=store.run_a)
        assert page.total == 2 and [a.label for a in page.items] == ["lucky_guess", "other"]
        assert browse.list_annotations(session=session, run_id=store.run_b).total == 0
        assert browse.list_annotations(session=session, label="other").total == 1
        detail = browse.get_sample(session=session, sample_id=sample_id)
        assert [a.note for a in detail.annotations] == ["right by luck", None]


def _queue_run(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        run = create_sampling_run(
            session=session, request=SamplingRequest(model="queued-m", benchmark="toy", n=4, unit_size=2)
        )
        return run.id


def test_create_cancel_and_delete_runs(sessions: sessionmaker[Session], store: SeededStore) -> None:
    run_id = _queue_run(sessions)
    with sessions() as session:
        run = session.get(Run, run_id)
        assert run.status is RunStatus.queued and run.samples_total == 4 * 6 and run.grader == "math"
        assert session.scalar(select(func.count()).where(WorkUnit.run_id == run_id)) == 3
        with pytest.raises(ConflictError, match="cancel it"):
            delete_run(session=session, run_id=run_id)
    with sessions() as session:
        assert cancel_run(session=session, run_id=run_id).status is RunStatus.cancelled
        assert cancel_run(session=session, run_id=run_id).status is RunStatus.cancelled  # idempotent
        statuses = set(session.scalars(select(WorkUnit.status).where(WorkUnit.run_id == run_id)))
        assert statuses == {WorkUnitStatus.failed}
        with pytest.raises(ConflictError, match="done"):
            cancel_run(session=session, run_id=store.run_a)
    assert claim_work_unit(session_factory=sessions, owner="w1", lease_s=60) is None
    with sessions() as session:
        sample_id = _all_ordered(session, Sample.run_id == store.run_a)[0]
        browse.annotate(session=session, sample_id=sample_id, label="other", note=None, author=None)
        delete_run(session=session, run_id=store.run_a)
        delete_run(session=session, run_id=run_id)
    with sessions() as session:
        assert session.get(Run, store.run_a) is None and session.get(Run, run_id) is None
        assert session.scalar(select(func.count()).where(Sample.run_id == store.run_a)) == 0
        assert session.scalar(select(func.count()).where(ProblemStat.run_id == store.run_a)) == 0
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0
        assert session.scalar(select(func.count()).where(WorkUnit.run_id == run_id)) == 0
        assert session.scalar(select(func.count()).where(Sample.run_id == store.run_b)) == 6 * N + 1
        with pytest.raises(NotFoundError):
            delete_run(session=session, run_id=store.run_a)


def test_create_run_from_the_registry_and_bad_requests(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        run = create_sampling_run(
            session=session,
            request=SamplingRequest(model="m", benchmark="arithmetic", n=2, limit=5, kind="rl"),
        )
        assert run.benchmark.name == "arithmetic" and run.samples_total == 10
        assert run.sampling["template"] == "arithmetic-fewshot" and run.model.kind.value == "rl"
    cases = [
        (SamplingRequest(model="m", benchmark="arithmetic", template="file:/etc/passwd"), "template"),
        (SamplingRequest(model="m", benchmark="arithmetic", engine="magic"), "engine"),
        (SamplingRequest(model="m", benchmark="arithmetic", engine="openai"), "base_url"),
        (SamplingRequest(model="m", benchmark="arithmetic", n=0), "n"),
        (SamplingRequest(model="m", benchmark="arithmetic", kind="wizard"), "kind"),
    ]
    for request, field in cases:
        with sessions() as session, pytest.raises(InvalidInputError) as info:
            create_sampling_run(session=session, request=request)
        assert info.value.field == field
    with sessions() as session, pytest.raises(NotFoundError, match="nonesuch"):
        create_sampling_run(session=session, request=SamplingRequest(model="m", benchmark="nonesuch"))
