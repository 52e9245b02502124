"""The five import parsers: happy paths on realistic fixtures, every error with its line, streaming."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import ImportFormatError, InvalidInputError
from app.importers.formats import FORMATS, counts, human_eval, lm_eval, math_eval, parse_file, samples
from app.importers.records import CountRecord, HeaderRecord, ProblemRecord, SampleRecord

GENERATIONS = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "generations"
IN_CI = os.environ.get("CI", "").lower() == "true"


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Write rows as JSON lines; a str row is written verbatim (for malformed or blank lines)."""
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def error_of(parser: Any, path: Path) -> ImportFormatError:
    with pytest.raises(ImportFormatError) as info:
        list(parser(path))
    return info.value


# --------------------------------------------------------------------------- registry


def test_formats_are_registered_by_their_names() -> None:
    assert list(FORMATS) == ["samples", "counts", "math-eval", "human-eval", "lm-eval"]


def test_parse_file_dispatches_by_name(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": 1, "c": 0, "n": 2}])
    assert list(parse_file("counts", path)) == [(1, CountRecord(problem_key="1", n=2, correct=0))]


def test_unknown_format_names_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_file("csv", Path("nowhere.jsonl"))
    assert info.value.field == "format"
    for name in FORMATS:
        assert name in str(info.value)


# --------------------------------------------------------------------------- shared reading


@pytest.mark.parametrize("parser", list(FORMATS.values()), ids=list(FORMATS))
def test_missing_file_is_an_import_error(tmp_path: Path, parser: Any) -> None:
    error = error_of(parser, tmp_path / "absent.jsonl")
    assert error.line is None
    assert error.reason == "file not found"
    assert str(tmp_path / "absent.jsonl") in str(error)


@pytest.mark.parametrize("parser", list(FORMATS.values()), ids=list(FORMATS))
def test_empty_or_blank_file_has_no_records(tmp_path: Path, parser: Any) -> None:
    for content in ("", "\n  \n\t\n"):
        path = tmp_path / "empty.jsonl"
        path.write_text(content, encoding="utf-8")
        error = error_of(parser, path)
        assert error.line is None
        assert "empty" in error.reason


def test_directory_is_refused(tmp_path: Path) -> None:
    assert "directory" in error_of(counts.parse, tmp_path).reason


def test_non_utf8_names_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"id": 1, "c": 0, "n": 1}\n{"id": "caf\xe9", "c": 0, "n": 1}\n')
    error = error_of(counts.parse, path)
    assert (error.line, error.reason) == (2, "not UTF-8: invalid byte 0xe9 at byte 12 of the line")


def test_bad_json_mid_file_names_its_line_and_column(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [{"id": 1, "c": 0, "n": 1}, "", {"id": 2, "c": 0, "n": 1}, '{"id": 3, "c": 0 "n": 1}'],
    )
    error = error_of(counts.parse, path)
    assert error.line == 4
    assert error.reason == "invalid JSON: Expecting ',' delimiter at column 18"
    assert str(error).startswith(f"{path}:4: ")


def test_nan_is_not_json(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", ['{"id": 1, "c": NaN, "n": 1}'])
    assert error_of(counts.parse, path).reason == "invalid JSON: NaN is not a number JSON allows"


def test_a_line_must_hold_an_object(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [[1, 0, 1]])
    error = error_of(counts.parse, path)
    assert (error.line, error.reason) == (1, "each line must be a JSON object, got an array")


def test_blank_lines_are_skipped_and_numbering_counts_them(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl", ["", {"id": "a", "c": 1, "n": 1}, "   ", {"id": "b", "c": 0, "n": 1}]
    )
    assert [line for line, _ in counts.parse(path)] == [2, 4]


def test_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"id": 1, "c": 1, "n": 1}\n')
    assert [r for _, r in counts.parse(path)] == [CountRecord(problem_key="1", n=1, correct=1)]


@pytest.mark.parametrize(
    ("parser", "good", "bad"),
    [
        (counts.parse, {"id": 1, "c": 0, "n": 1}, "{"),
        (
            human_eval.parse,
            {"task_id": "HumanEval/0", "completion": "    pass", "result": "failed: ", "passed": False},
            "[",
        ),
        (samples.parse, {"type": "problem", "key": "p"}, "nul"),
    ],
)
def test_parsers_stream(tmp_path: Path, parser: Any, good: dict[str, Any], bad: str) -> None:
    """Line 1's record is available before line 3, which is malformed, has been read."""
    path = write_jsonl(tmp_path / "s.jsonl", [good, "", bad])
    records = parser(path)
    line, _ = next(records)
    assert line == 1
    with pytest.raises(ImportFormatError) as info:
        next(records)
    assert info.value.line == 3


def test_parser_does_not_read_past_the_record_it_yields(tmp_path: Path) -> None:
    """Appending to the file after the first record was yielded is still seen: reading is lazy."""
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": 1, "c": 0, "n": 1}])
    records = counts.parse(path)
    next(records)
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": 2, "c": 1, "n": 1}\n')
    assert [r.problem_key for _, r in records] == ["2"]


# --------------------------------------------------------------------------- counts


def test_counts_happy_path(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "counts.jsonl",
        [{"id": 7, "c": 3, "n": 8, "source": "math500"}, {"id": "alg-2", "c": 0, "n": 8, "extra": [1]}],
    )
    assert list(counts.parse(path)) == [
        (1, ProblemRecord(key="7", meta={"source": "math500"})),
        (1, CountRecord(problem_key="7", n=8, correct=3)),
        (2, CountRecord(problem_key="alg-2", n=8, correct=0)),
    ]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"id": 1, "c": "3", "n": 4}, 'field "c" must be an integer, got "3"'),
        ({"id": 1, "c": True, "n": 4}, 'field "c" must be an integer, got true'),
        ({"id": 1, "c": 1.0, "n": 4}, 'field "c" must be an integer, got 1.0'),
        ({"id": 1, "c": 0, "n": 0}, 'field "n" must be at least 1, got 0'),
        ({"id": 1, "c": -1, "n": 4}, 'field "c" must be at least 0, got -1'),
        ({"id": 1, "c": 5, "n": 4}, "c=5 exceeds n=4"),
        ({"id": True, "c": 0, "n": 4}, 'field "id" must be a non-empty string or an integer, got true'),
        ({"id": "", "c": 0, "n": 4}, 'field "id" must be a non-empty string or an integer, got ""'),
        ({"id": 1.5, "c": 0, "n": 4}, 'field "id" must be a non-empty string or an integer, got 1.5'),
        ({"c": 0, "n": 4}, 'missing field "id"'),
        ({"id": 1, "n": 4}, 'missing field "c"'),
        ({"id": 1, "c": 0, "n": 4, "source": 3}, 'field "source" must be a string or null, got 3'),
    ],
)
def test_counts_errors(tmp_path: Path, row: dict[str, Any], reason: str) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "ok", "c": 0, "n": 1}, row])
    error = error_of(counts.parse, path)
    assert (error.line, error.reason) == (2, reason)


def test_counts_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [{"id": 7, "c": 0, "n": 1}, {"id": 8, "c": 0, "n": 1}, {"id": "7", "c": 1, "n": 1}],
    )
    error = error_of(counts.parse, path)
    assert (error.line, error.reason) == (3, 'duplicate id "7" also at line 1')


# --------------------------------------------------------------------------- samples (our own format)

HEADER = HeaderRecord(
    model="Qwen/Qwen2.5-7B",
    model_kind="base",
    base_model=None,
    model_source="hf",
    model_revision="d149729398750b98c0af14eb82c78cfe92750796",
    benchmark="math500",
    benchmark_source="HuggingFaceH4/MATH-500",
    run={
        "engine": "vllm",
        "temperature": 0.6,
        "top_p": 0.95,
        "max_tokens": 4096,
        "seed": 0,
        "n_per_problem": 256,
        "grader": "math-verify",
        "grader_version": "0.7.0",
        "sampling": {"min_p": 0.0, "stop": ["</s>"]},
        "provenance": {"host": "gpu-3", "anything": {"nested": [1, 2]}},
    },
)
TRICKY = 'Ünïcödé ∑ 数学 🚀\nline two\r\n\ttab </script><script>alert(1)</script> \u2028 \u2029 \\ " \x00'


def sample_records() -> list[HeaderRecord | ProblemRecord | SampleRecord]:
    return [
        HEADER,
        ProblemRecord(
            key="test/algebra/1.json",
            statement="Find $x$ if $2x = 14$. " + TRICKY,
            answer="7",
            tests=None,
            meta={"level": 2, "subject": "Algebra"},
        ),
        SampleRecord(
            problem_key="test/algebra/1.json",
            index=0,
            text="We divide by 2: \\boxed{7}. " + TRICKY,
            verdict="correct",
            answer="7",
            num_tokens=42,
            finish_reason="stop",
            grader_detail={"parsed": "7", "ok": True},
        ),
        SampleRecord(problem_key="test/algebra/1.json", index=1, text="", verdict="ungraded"),
        ProblemRecord(key="p2"),
        SampleRecord(
            problem_key="p2", index=0, text="x", verdict="timeout", grader_detail={"result": "timed out"}
        ),
    ]


def test_samples_round_trip_is_byte_identical(tmp_path: Path) -> None:
    records = sample_records()
    exported = "".join(samples.dump_record(r) + "\n" for r in records)
    path = tmp_path / "export.jsonl"
    path.write_text(exported, encoding="utf-8")

    parsed = [record for _, record in samples.parse(path)]
    assert parsed == records
    again = "".join(samples.dump_record(r) + "\n" for r in parsed)
    assert again.encode("utf-8") == path.read_bytes()
    # One JSON line per record, whatever the text holds.
    assert len(path.read_bytes().split(b"\n")) == len(records) + 1
    assert "</script>" in exported and "数学" in exported


def test_samples_writer_layout_is_fixed() -> None:
    assert list(json.loads(samples.dump_header(HeaderRecord()))) == [
        "type",
        "format",
        "version",
        "model",
        "benchmark",
        "run",
    ]
    line = samples.dump_sample(SampleRecord(problem_key="k", index=0, text="t", verdict="error"))
    assert line == (
        '{"type": "sample", "problem": "k", "index": 0, "text": "t", "verdict": "error", "answer": null, '
        '"tokens": null, "finish_reason": null, "grader_detail": null}'
    )
    assert samples.dump_problem(ProblemRecord(key="k")) == (
        '{"type": "problem", "key": "k", "statement": null, "answer": null, "tests": null, "meta": {}}'
    )
    assert "\n" not in samples.dump_header(HEADER)


def test_samples_writer_refuses_run_keys_outside_v1() -> None:
    with pytest.raises(ValueError, match="colour"):
        samples.dump_header(HeaderRecord(run={"colour": "blue"}))
    with pytest.raises(ValueError, match=r'field "run\.seed" must be an integer or null, got 1\.5'):
        samples.dump_header(HeaderRecord(run={"seed": 1.5}))


def test_samples_minimal_lines_and_int_keys(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"type": "header", "format": "coverscope.samples", "version": 1},
            {"type": "problem", "key": 12},
            {"type": "sample", "problem": 12, "index": 0, "text": "a", "verdict": "incorrect"},
        ],
    )
    assert [r for _, r in samples.parse(path)] == [
        HeaderRecord(),
        ProblemRecord(key="12"),
        SampleRecord(problem_key="12", index=0, text="a", verdict="incorrect"),
    ]


GOOD_HEADER = {"type": "header", "format": "coverscope.samples", "version": 1}
GOOD_SAMPLE = {"type": "sample", "problem": "p", "index": 0, "text": "t", "verdict": "correct"}


@pytest.mark.parametrize(
    ("rows", "line", "reason"),
    [
        (
            [GOOD_SAMPLE, GOOD_HEADER],
            2,
            "a header must be the first line of the file",
        ),
        (
            [{**GOOD_HEADER, "version": 2, "novel": True}],
            1,
            "written by a newer coverscope (version 2); this one reads version 1",
        ),
        ([{**GOOD_HEADER, "version": 0}], 1, 'field "version" must be at least 1, got 0'),
        ([{**GOOD_HEADER, "format": "other"}], 1, 'field "format" must be "coverscope.samples", got "other"'),
        (
            [{**GOOD_HEADER, "notes": "x"}],
            1,
            'unknown field "notes" in the header; expected only: '
            "type, format, version, model, benchmark, run",
        ),
        (
            [{**GOOD_HEADER, "model": {"name": "m", "size": 7}}],
            1,
            'unknown field "size" in the header\'s "model"; expected only: '
            "name, kind, base_model, source, revision",
        ),
        ([{**GOOD_HEADER, "model": {"name": 7}}], 1, 'field "model.name" must be a string or null, got 7'),
        (
            [{**GOOD_HEADER, "run": {"temperature": "hot"}}],
            1,
            'field "run.temperature" must be a number or null, got "hot"',
        ),
        (
            [{**GOOD_HEADER, "run": {"n_per_problem": 0}}],
            1,
            'field "run.n_per_problem" must be at least 1, got 0',
        ),
        (
            [{**GOOD_HEADER, "run": {"sampling": []}}],
            1,
            'field "run.sampling" must be an object or null, got []',
        ),
        (
            [GOOD_HEADER, {**GOOD_HEADER, "run": {"colour": 1}}],
            2,
            "a header must be the first line of the file",
        ),
        ([{"problem": "p"}], 1, 'missing field "type"'),
        ([{"type": "count"}], 1, 'unknown record type "count"; expected header, problem or sample'),
        (
            [{**GOOD_SAMPLE, "verdict": "pass"}],
            1,
            'field "verdict" must be one of correct, incorrect, timeout, error, ungraded, got "pass"',
        ),
        ([{**GOOD_SAMPLE, "index": -1}], 1, 'field "index" must be at least 0, got -1'),
        ([{**GOOD_SAMPLE, "index": "0"}], 1, 'field "index" must be an integer, got "0"'),
        ([{**GOOD_SAMPLE, "tokens": -3}], 1, 'field "tokens" must be at least 0, got -3'),
        ([{**GOOD_SAMPLE, "tokens": 1.5}], 1, 'field "tokens" must be an integer or null, got 1.5'),
        ([{**GOOD_SAMPLE, "text": None}], 1, 'field "text" must be a string, got null'),
        (
            [{**GOOD_SAMPLE, "grader_detail": "x"}],
            1,
            'field "grader_detail" must be an object or null, got "x"',
        ),
        (
            [{**GOOD_SAMPLE, "score": 1}],
            1,
            'unknown field "score" in a sample line; expected only: '
            "type, problem, index, text, verdict, answer, tokens, finish_reason, grader_detail",
        ),
        ([{"type": "problem", "key": "p", "meta": []}], 1, 'field "meta" must be an object or null, got []'),
        ([{"type": "problem"}], 1, 'missing field "key"'),
        (
            [GOOD_SAMPLE, {**GOOD_SAMPLE, "index": 1}, {"type": "problem", "key": "p"}, GOOD_SAMPLE],
            4,
            'duplicate sample: problem "p" index 0 also at line 1',
        ),
        (
            [{"type": "problem", "key": 7}, {"type": "problem", "key": "7"}],
            2,
            'duplicate problem "7" also at line 1',
        ),
    ],
)
def test_samples_errors(tmp_path: Path, rows: list[Any], line: int, reason: str) -> None:
    error = error_of(samples.parse, write_jsonl(tmp_path / "s.jsonl", rows))
    assert (error.line, error.reason) == (line, reason)


def test_samples_provenance_and_sampling_are_free_form(tmp_path: Path) -> None:
    run = {"provenance": {"git": "abc", "argv": ["a", 1]}, "sampling": {"repetition_penalty": 1.1}}
    path = write_jsonl(tmp_path / "s.jsonl", [{**GOOD_HEADER, "run": run}])
    [(_, header)] = list(samples.parse(path))
    assert header == HeaderRecord(run=run)


# --------------------------------------------------------------------------- math-eval

# Modelled on QwenLM/Qwen2.5-Math evaluation/math_eval.py main(): the sample dict is built as
# {"idx", "question", "gt_cot", "gt", <dataset fields: "level", "type", "solution", "answer", ...>},
# then updated with "code", "pred", "report" (LeapLabTHU/limit-of-RLVR
# math/examples/math_eval/math_eval.py adds "finish_reason"), and evaluate() adds "score" (bools).
MATH_EVAL_QWEN = {
    "idx": 0,
    "question": "If $3x + 7 = 21$, what is $x$?",
    "gt_cot": "Subtracting 7 gives $3x = 14$, so $x = \\boxed{\\frac{14}{3}}$.",
    "gt": "\\frac{14}{3}",
    "level": "Level 2",
    "type": "Algebra",
    "solution": "Subtracting 7 gives $3x = 14$, so $x = \\boxed{\\frac{14}{3}}$.",
    "answer": "\\frac{14}{3}",
    "choices": None,
    "code": [
        "3x = 21 - 7 = 14, so x = 14/3.\nThe answer is $\\boxed{\\frac{14}{3}}$.",
        "3x = 28, x = 28/3. \\boxed{\\frac{28}{3}}",
        "Let me think step by step... 3x = 14 and",
    ],
    "pred": ["\\frac{14}{3}", "\\frac{28}{3}", ""],
    "report": ["Done", "Done", "Done"],
    "finish_reason": ["stop", "stop", "length"],
    "score": [True, False, False],
}
# A fork's MATH-500 line: dataset fields "subject", "level" (int), "unique_id"; no "gt" but
# "answer"; scores written as 0/1; one list-valued pred; no report or finish_reason.
MATH_EVAL_FORK = {
    "idx": 1,
    "question": "What is $1+1$?",
    "answer": "2",
    "subject": "Prealgebra",
    "level": 1,
    "unique_id": "test/prealgebra/1.json",
    "code": ["\\boxed{2}", "\\boxed{2, 3}"],
    "pred": ["2", ["2", "3"]],
    "score": [1, 0.0],
}


def test_math_eval_maps_problems_and_generations(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "test_qwen25-math-cot_-1_seed0_t0.6_s0_e-1.jsonl", [MATH_EVAL_QWEN, MATH_EVAL_FORK]
    )
    records = list(math_eval.parse(path))
    assert [line for line, _ in records] == [1, 1, 1, 1, 2, 2, 2]
    problem = records[0][1]
    assert problem == ProblemRecord(
        key="0",
        statement="If $3x + 7 = 21$, what is $x$?",
        answer="\\frac{14}{3}",
        meta={"level": "Level 2", "type": "Algebra"},
    )
    assert [r for _, r in records[1:4]] == [
        SampleRecord(
            problem_key="0",
            index=0,
            text=MATH_EVAL_QWEN["code"][0],
            verdict="correct",
            answer="\\frac{14}{3}",
            finish_reason="stop",
            grader_detail={"report": "Done"},
        ),
        SampleRecord(
            problem_key="0",
            index=1,
            text=MATH_EVAL_QWEN["code"][1],
            verdict="incorrect",
            answer="\\frac{28}{3}",
            finish_reason="stop",
            grader_detail={"report": "Done"},
        ),
        SampleRecord(
            problem_key="0",
            index=2,
            text=MATH_EVAL_QWEN["code"][2],
            verdict="incorrect",
            answer="",
            finish_reason="length",
            grader_detail={"report": "Done"},
        ),
    ]
    assert records[4][1] == ProblemRecord(
        key="1",
        statement="What is $1+1$?",
        answer="2",
        meta={"subject": "Prealgebra", "level": 1, "unique_id": "test/prealgebra/1.json"},
    )
    assert [(r.verdict, r.answer, r.finish_reason, r.grader_detail) for _, r in records[5:]] == [
        ("correct", "2", None, None),
        ("incorrect", '["2", "3"]', None, None),
    ]


def test_math_eval_without_scores_is_ungraded(tmp_path: Path) -> None:
    row = {k: v for k, v in MATH_EVAL_FORK.items() if k != "score"}
    path = write_jsonl(tmp_path / "m.jsonl", [row])
    assert {r.verdict for _, r in math_eval.parse(path) if isinstance(r, SampleRecord)} == {"ungraded"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"score": [True, False]},
            "the per-generation arrays differ in length: code has 3, pred has 3, score has 2, report has 3, "
            "finish_reason has 3",
        ),
        (
            {"pred": ["a"]},
            "the per-generation arrays differ in length: code has 3, pred has 1, score has 3, report has 3, "
            "finish_reason has 3",
        ),
        ({"score": [True, 0.5, False]}, 'field "score[1]" must be true, false, 0 or 1, got 0.5'),
        ({"score": [True, "1", False]}, 'field "score[1]" must be true, false, 0 or 1, got "1"'),
        ({"code": "one"}, 'field "code" must be an array, got "one"'),
        ({"code": ["a", 2, "c"]}, 'field "code[1]" must be a string, got 2'),
        ({"finish_reason": ["stop", 1, "stop"]}, 'field "finish_reason[1]" must be a string or null, got 1'),
        ({"idx": None}, 'field "idx" must be a non-empty string or an integer, got null'),
        ({"question": 3}, 'field "question" must be a string or null, got 3'),
    ],
)
def test_math_eval_errors(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [MATH_EVAL_FORK, {**MATH_EVAL_QWEN, **change}])
    error = error_of(math_eval.parse, path)
    assert (error.line, error.reason) == (2, reason)


def test_math_eval_missing_arrays_and_duplicates(tmp_path: Path) -> None:
    row = {k: v for k, v in MATH_EVAL_QWEN.items() if k != "pred"}
    assert (
        error_of(math_eval.parse, write_jsonl(tmp_path / "a.jsonl", [row])).reason == 'missing field "pred"'
    )
    path = write_jsonl(tmp_path / "b.jsonl", [MATH_EVAL_QWEN, MATH_EVAL_FORK, MATH_EVAL_QWEN])
    error = error_of(math_eval.parse, path)
    assert (error.line, error.reason) == (3, 'duplicate problem: idx "0" also at line 1')


# --------------------------------------------------------------------------- human-eval


def test_human_eval_maps_results(tmp_path: Path) -> None:
    rows = [
        {"task_id": "HumanEval/0", "completion": "    return True\n", "result": "passed", "passed": True},
        {
            "task_id": "HumanEval/1",
            "completion": "    while True: pass\n",
            "result": "timed out",
            "passed": False,
        },
        {
            "task_id": "HumanEval/0",
            "completion": "    return 1/0\n",
            "result": "failed: division by zero",
            "passed": False,
        },
        {
            "task_id": "HumanEval/0",
            "completion": "",
            "result": "failed: ",
            "passed": False,
            "prompt": "ignored",
        },
    ]
    records = [r for _, r in human_eval.parse(write_jsonl(tmp_path / "s.jsonl_results.jsonl", rows))]
    assert records == [
        SampleRecord("HumanEval/0", 0, "    return True\n", "correct", grader_detail={"result": "passed"}),
        SampleRecord(
            "HumanEval/1", 0, "    while True: pass\n", "timeout", grader_detail={"result": "timed out"}
        ),
        SampleRecord(
            "HumanEval/0",
            1,
            "    return 1/0\n",
            "incorrect",
            grader_detail={"result": "failed: division by zero"},
        ),
        SampleRecord("HumanEval/0", 2, "", "incorrect", grader_detail={"result": "failed: "}),
    ]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"passed": "true"}, 'field "passed" must be true or false, got "true"'),
        ({"passed": True}, 'field "passed" is true but field "result" is "failed: x"'),
        ({"completion": None}, 'field "completion" must be a string, got null'),
        ({"result": None}, 'field "result" must be a string, got null'),
    ],
)
def test_human_eval_errors(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    row = {"task_id": "HumanEval/3", "completion": "x", "result": "failed: x", "passed": False}
    path = write_jsonl(tmp_path / "r.jsonl", [row, {**row, **change}])
    error = error_of(human_eval.parse, path)
    assert (error.line, error.reason) == (2, reason)


@pytest.mark.parametrize(
    ("name", "passed"),
    [
        ("humaneval_mistral7b_instruct_v0.1_n10_t0.2_results.jsonl", 533),
        ("humaneval_zephyr7b_alpha_n10_t0.2_results.jsonl", 531),
    ],
)
def test_human_eval_real_results_files(name: str, passed: int) -> None:
    path = GENERATIONS / name
    if not path.exists():
        if IN_CI:
            pytest.fail(f"{path} is missing; CI must provide the shared generations")
        pytest.skip(f"{path} is not here")
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    records = [r for _, r in human_eval.parse(path)]

    assert all(isinstance(r, SampleRecord) for r in records)
    assert len(records) == len(rows) == 1640
    per_task = Counter(r.problem_key for r in records)
    assert len(per_task) == 164 and set(per_task.values()) == {10}
    assert sum(r.verdict == "correct" for r in records) == sum(row["passed"] for row in rows) == passed
    assert [r.text for r in records] == [row["completion"] for row in rows]
    assert sorted((r.problem_key, r.index) for r in records) == sorted(
        (task, i) for task, n in per_task.items() for i in range(n)
    )


# --------------------------------------------------------------------------- lm-eval

# Modelled on EleutherAI/lm-evaluation-harness: lm_eval/evaluator.py evaluate() builds
# {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
# "doc_hash", "prompt_hash", "target_hash"} + metric values, once per filter per document;
# lm_eval/loggers/evaluation_tracker.py save_results_samples() rewrites "arguments" as
# {"gen_args_0": {"arg_0": prompt, "arg_1": gen kwargs}}, "target" as str, and every leaf of
# "resps"/"filtered_resps" as str. Filters and repeats follow
# lm_eval/tasks/gsm8k/gsm8k-cot-self-consistency.yaml (repeats: 64, filters "score-first" =
# regex + take_first, "maj@64" = regex + majority_vote + take_first); 4 repeats here.
GSM8K_DOC = {
    "question": "Janet's ducks lay 16 eggs per day. She eats three and bakes with four. "
    "She sells the rest at $2 each. How much does she make?",
    "answer": "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n#### 18",
}
GEN_KWARGS = {"until": ["Q:", "\n\n"], "do_sample": True, "temperature": 0.2}


def lm_eval_line(
    doc_id: int, filter_name: str, resps: list[str], filtered: Any, **metrics: Any
) -> dict[str, Any]:
    prompt = f"Q: question {doc_id}\nA:"
    return {
        "doc_id": doc_id,
        "doc": {**GSM8K_DOC, "question": f"question {doc_id}"} if doc_id else GSM8K_DOC,
        "target": "18",
        "arguments": {"gen_args_0": {"arg_0": prompt, "arg_1": GEN_KWARGS}},
        "resps": [resps],
        "filtered_resps": [filtered],
        "filter": filter_name,
        "metrics": list(metrics),
        "doc_hash": "5e1c0b1f9a",
        "prompt_hash": "9d3a55c2e0",
        "target_hash": "4ec9599fc2",
        **metrics,
    }


REPEATS = [
    "She sells 16 - 3 - 4 = 9 eggs. 9 * 2 = 18. The answer is 18.",
    "16 - 7 = 9 eggs, 9 * $2 = $18. The answer is 18.",
    "She has 16 - 3 = 13 eggs. 13 * 2 = 26. The answer is 26.",
    "Let's think",
]


def test_lm_eval_repeats_are_samples_and_ungraded(tmp_path: Path) -> None:
    rows = [
        lm_eval_line(0, "score-first", REPEATS, "18", exact_match=1.0),
        lm_eval_line(1, "score-first", REPEATS[::-1], "[invalid]", exact_match=0.0),
        lm_eval_line(0, "maj@64", REPEATS, "18", exact_match=1.0),
        lm_eval_line(1, "maj@64", REPEATS[::-1], "18", exact_match=1.0),
    ]
    records = list(
        lm_eval.parse(write_jsonl(tmp_path / "samples_gsm8k_cot_self_consistency_2025.jsonl", rows))
    )
    assert [line for line, _ in records] == [1] * 5 + [2] * 5
    problem = records[0][1]
    assert problem == ProblemRecord(key="0", statement=GSM8K_DOC["question"], answer="18", meta={})
    samples_0 = [r for _, r in records[1:5]]
    assert samples_0 == [
        SampleRecord("0", i, text, "ungraded", answer=None, grader_detail={"filter": "score-first"})
        for i, text in enumerate(REPEATS)
    ]
    assert records[5][1].key == "1" and records[5][1].statement == "question 1"


def test_lm_eval_single_repeat_takes_the_metric_of_the_first_filter(tmp_path: Path) -> None:
    # gsm8k.yaml (current): repeats 1, filters "strict-match" then "flexible-extract", metric exact_match.
    rows = [
        lm_eval_line(0, "strict-match", [REPEATS[0]], "18", exact_match=1.0),
        lm_eval_line(1, "strict-match", [REPEATS[2]], "[invalid]", exact_match=0.0),
        lm_eval_line(0, "flexible-extract", [REPEATS[0]], "18", exact_match=1.0),
        lm_eval_line(1, "flexible-extract", [REPEATS[2]], "26", exact_match=0.0),
    ]
    records = [r for _, r in lm_eval.parse(write_jsonl(tmp_path / "samples_gsm8k.jsonl", rows))]
    assert [r for r in records if isinstance(r, SampleRecord)] == [
        SampleRecord(
            "0",
            0,
            REPEATS[0],
            "correct",
            answer="18",
            grader_detail={"filter": "strict-match", "metric": "exact_match", "value": 1.0},
        ),
        SampleRecord(
            "1",
            0,
            REPEATS[2],
            "incorrect",
            answer="[invalid]",
            grader_detail={"filter": "strict-match", "metric": "exact_match", "value": 0.0},
        ),
    ]


def test_lm_eval_per_repeat_filtered_answers_and_non_binary_metric(tmp_path: Path) -> None:
    # A filter without take_first keeps one extracted answer per repeat; its metric is not 0/1.
    rows = [lm_eval_line(0, "extract-all", REPEATS, ["18", "18", "26", "[invalid]"], exact_match=0.5)]
    samples_ = [
        r for _, r in lm_eval.parse(write_jsonl(tmp_path / "s.jsonl", rows)) if isinstance(r, SampleRecord)
    ]
    assert [(s.answer, s.verdict) for s in samples_] == [
        ("18", "ungraded"),
        ("18", "ungraded"),
        ("26", "ungraded"),
        ("[invalid]", "ungraded"),
    ]


def test_lm_eval_single_repeat_without_binary_metric_is_ungraded(tmp_path: Path) -> None:
    rows = [lm_eval_line(0, "none", ["x"], "x", bleu=12.5)]
    [_, sample] = [r for _, r in lm_eval.parse(write_jsonl(tmp_path / "s.jsonl", rows))]
    assert (sample.verdict, sample.answer, sample.grader_detail) == ("ungraded", "x", {"filter": "none"})


def test_lm_eval_statement_falls_back_to_the_prompt_and_keeps_doc_metadata(tmp_path: Path) -> None:
    # Older harness: no "filter"/"metrics"/hashes, "arguments" as [[prompt, kwargs]] (evaluator.py before
    # save_results_samples reshaped it); a doc with no question/problem/prompt string, so the prompt
    # stands in for the statement, and minerva_math-like "level", "type", "solution", "answer".
    row = {
        "doc_id": 4,
        "doc": {"problem_text": 7, "level": "Level 5", "type": "Geometry", "solution": "long", "answer": "3"},
        "target": "3",
        "arguments": [["Problem: ...\nSolution:", {"until": ["Problem:"]}]],
        "resps": [["The answer is 3."]],
        "filtered_resps": ["3"],
        "exact_match": True,
    }
    records = [r for _, r in lm_eval.parse(write_jsonl(tmp_path / "s.jsonl", [row]))]
    assert records[0] == ProblemRecord(
        key="4",
        statement="Problem: ...\nSolution:",
        answer="3",
        meta={"problem_text": 7, "level": "Level 5", "type": "Geometry"},
    )
    assert records[1].verdict == "correct" and records[1].grader_detail == {
        "metric": "exact_match",
        "value": True,
    }


def test_lm_eval_unnamed_filters_are_told_apart_by_their_responses(tmp_path: Path) -> None:
    base = {"doc_id": 0, "target": "1", "filtered_resps": ["1"], "exact_match": 1}
    same = [
        {**base, "resps": [["one"]]},
        {**base, "resps": [["two"]], "doc_id": 1},
        {**base, "resps": [["one"]]},
    ]
    records = [r for _, r in lm_eval.parse(write_jsonl(tmp_path / "a.jsonl", same))]
    assert [r.problem_key for r in records if isinstance(r, SampleRecord)] == ["0", "1"]

    clash = [*same, {**base, "resps": [["other"]], "doc_id": 1}]
    error = error_of(lm_eval.parse, write_jsonl(tmp_path / "b.jsonl", clash))
    assert (error.line, error.reason) == (4, "duplicate document: doc_id 1 also at line 2")


def test_lm_eval_same_filter_twice_is_a_duplicate(tmp_path: Path) -> None:
    rows = [lm_eval_line(0, "strict-match", ["a"], "a", exact_match=0.0)] * 2
    error = error_of(lm_eval.parse, write_jsonl(tmp_path / "s.jsonl", rows))
    assert (error.line, error.reason) == (2, "duplicate document: doc_id 0 also at line 1")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            # arc_easy-like multiple-choice line: one loglikelihood request per choice.
            {"resps": [[["-5.25", "False"]], [["-2.5", "True"]]], "filtered_resps": [["-5.25", "False"]]},
            'field "resps" holds 2 requests; only generate_until tasks (one request per document, repeated) '
            "can be imported",
        ),
        (
            {"resps": [[["-2.5", "True"]]]},
            'field "resps[0][0]" must be a generated text, got ["-2.5", "True"]; '
            "loglikelihood (multiple-choice) tasks generate no text",
        ),
        ({"resps": [[]]}, 'field "resps[0]" holds no responses'),
        ({"resps": "x"}, 'field "resps" must be an array, got "x"'),
        (
            {"filtered_resps": ["a", "b"]},
            'field "filtered_resps" holds 2 entries but "resps" holds 1 request',
        ),
        ({"doc_id": "0"}, 'field "doc_id" must be an integer, got "0"'),
        ({"doc": "text"}, 'field "doc" must be an object or null, got "text"'),
        ({"filter": 3}, 'field "filter" must be a string or null, got 3'),
    ],
)
def test_lm_eval_errors(tmp_path: Path, change: dict[str, Any], reason: str) -> None:
    rows = [lm_eval_line(9, "f", ["a"], "a", exact_match=1.0), {**lm_eval_line(0, "f", ["a"], "a"), **change}]
    error = error_of(lm_eval.parse, write_jsonl(tmp_path / "s.jsonl", rows))
    assert (error.line, error.reason) == (2, reason)
