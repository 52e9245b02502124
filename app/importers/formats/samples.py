"""coverscope's own samples JSONL (``coverscope.samples``, version 1): the parser and the writer.

One JSON object per line, told apart by ``"type"``: an optional ``header`` first, then
``problem`` and ``sample`` lines in any order. The writer emits every field, in a fixed
order, so that export -> parse -> export is byte-identical. docs/import-formats.md is the
reference for the layout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from app.importers.jsonl import (
    LineError,
    as_choice,
    as_int,
    as_key,
    as_number,
    as_object,
    as_str,
    describe,
    read_objects,
    reading,
    reject_unknown,
    require,
)
from app.importers.records import VERDICTS, HeaderRecord, ProblemRecord, Record, SampleRecord, Verdict

FORMAT_NAME = "coverscope.samples"
VERSION = 1

HEADER_FIELDS = ("type", "format", "version", "model", "benchmark", "run")
MODEL_FIELDS = ("name", "kind", "base_model", "source", "revision")
BENCHMARK_FIELDS = ("name", "source")
PROBLEM_FIELDS = ("type", "key", "statement", "answer", "tests", "meta")
SAMPLE_FIELDS = (
    "type",
    "problem",
    "index",
    "text",
    "verdict",
    "answer",
    "tokens",
    "finish_reason",
    "grader_detail",
)


def _string(value: Any, label: str) -> Any:
    return as_str(value, label, nullable=True)


def _number(value: Any, label: str) -> Any:
    return as_number(value, label, nullable=True)


def _positive(value: Any, label: str) -> Any:
    return as_int(value, label, minimum=1, nullable=True)


def _integer(value: Any, label: str) -> Any:
    return as_int(value, label, nullable=True)


def _free_object(value: Any, label: str) -> Any:
    return as_object(value, label, nullable=True)


# The header's "run" object: its keys in the order the writer emits them, each with its check.
# "sampling" and "provenance" are free-form objects; every other key is fixed by version 1.
RUN_FIELDS = {
    "engine": _string,
    "prompt_template": _string,
    "temperature": _number,
    "top_p": _number,
    "max_tokens": _positive,
    "seed": _integer,
    "n_per_problem": _positive,
    "grader": _string,
    "grader_version": _string,
    "sampling": _free_object,
    "provenance": _free_object,
    "name": _string,
}


def parse(path: Path) -> Iterator[tuple[int, Record]]:
    """Yield the records of a ``coverscope.samples`` file, line by line."""
    seen_problems: dict[str, int] = {}
    seen_samples: dict[tuple[str, int], int] = {}
    first = True
    for number, row in read_objects(path):
        with reading(path, number):
            kind = as_str(require(row, "type"), "type")
            if kind == "header":
                if not first:
                    raise LineError("a header must be the first line of the file")
                record: Record = _header(row)
            elif kind == "problem":
                record = _problem(row)
                earlier = seen_problems.setdefault(record.key, number)
                if earlier != number:
                    raise LineError(f'duplicate problem "{record.key}" also at line {earlier}')
            elif kind == "sample":
                record = _sample(row)
                earlier = seen_samples.setdefault((record.problem_key, record.index), number)
                if earlier != number:
                    raise LineError(
                        f'duplicate sample: problem "{record.problem_key}" index {record.index} '
                        f"also at line {earlier}"
                    )
            else:
                raise LineError(f'unknown record type "{kind}"; expected header, problem or sample')
        first = False
        yield number, record


def _header(row: dict[str, Any]) -> HeaderRecord:
    fmt = require(row, "format")
    if fmt != FORMAT_NAME:
        raise LineError(f'field "format" must be "{FORMAT_NAME}", got {describe(fmt)}')
    version = as_int(require(row, "version"), "version", minimum=1)
    if version > VERSION:
        raise LineError(
            f"written by a newer coverscope (version {version}); this one reads version {VERSION}"
        )
    reject_unknown(row, HEADER_FIELDS, where="the header")
    model = as_object(row.get("model"), "model", nullable=True) or {}
    reject_unknown(model, MODEL_FIELDS, where='the header\'s "model"')
    benchmark = as_object(row.get("benchmark"), "benchmark", nullable=True) or {}
    reject_unknown(benchmark, BENCHMARK_FIELDS, where='the header\'s "benchmark"')
    run = as_object(row.get("run"), "run", nullable=True) or {}
    reject_unknown(run, RUN_FIELDS, where='the header\'s "run"')
    checked_run = {}
    for name, check in RUN_FIELDS.items():
        value = check(run.get(name), f"run.{name}")
        if value is not None:
            checked_run[name] = value
    return HeaderRecord(
        model=_string(model.get("name"), "model.name"),
        model_kind=_string(model.get("kind"), "model.kind"),
        base_model=_string(model.get("base_model"), "model.base_model"),
        model_source=_string(model.get("source"), "model.source"),
        model_revision=_string(model.get("revision"), "model.revision"),
        benchmark=_string(benchmark.get("name"), "benchmark.name"),
        benchmark_source=_string(benchmark.get("source"), "benchmark.source"),
        run=checked_run,
    )


def _problem(row: dict[str, Any]) -> ProblemRecord:
    reject_unknown(row, PROBLEM_FIELDS, where="a problem line")
    return ProblemRecord(
        key=as_key(require(row, "key"), "key"),
        statement=_string(row.get("statement"), "statement"),
        answer=_string(row.get("answer"), "answer"),
        tests=_string(row.get("tests"), "tests"),
        meta=as_object(row.get("meta"), "meta", nullable=True) or {},
    )


def _sample(row: dict[str, Any]) -> SampleRecord:
    reject_unknown(row, SAMPLE_FIELDS, where="a sample line")
    return SampleRecord(
        problem_key=as_key(require(row, "problem"), "problem"),
        index=as_int(require(row, "index"), "index", minimum=0),
        text=as_str(require(row, "text"), "text"),
        verdict=cast(Verdict, as_choice(require(row, "verdict"), "verdict", VERDICTS)),
        answer=_string(row.get("answer"), "answer"),
        num_tokens=as_int(row.get("tokens"), "tokens", minimum=0, nullable=True),
        finish_reason=_string(row.get("finish_reason"), "finish_reason"),
        grader_detail=as_object(row.get("grader_detail"), "grader_detail", nullable=True),
    )


def _dumps(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False)


def dump_header(header: HeaderRecord) -> str:
    """One header line (no trailing newline); ValueError for a run key or value version 1 cannot hold."""
    unknown = [name for name in header.run if name not in RUN_FIELDS]
    if unknown:
        raise ValueError(f"run keys not in samples format version {VERSION}: {', '.join(unknown)}")
    for name, check in RUN_FIELDS.items():
        check(header.run.get(name), f"run.{name}")  # a LineError is a ValueError
    return _dumps(
        {
            "type": "header",
            "format": FORMAT_NAME,
            "version": VERSION,
            "model": {
                "name": header.model,
                "kind": header.model_kind,
                "base_model": header.base_model,
                "source": header.model_source,
                "revision": header.model_revision,
            },
            "benchmark": {"name": header.benchmark, "source": header.benchmark_source},
            "run": {name: header.run.get(name) for name in RUN_FIELDS},
        }
    )


def dump_problem(problem: ProblemRecord) -> str:
    """One problem line (no trailing newline)."""
    return _dumps(
        {
            "type": "problem",
            "key": problem.key,
            "statement": problem.statement,
            "answer": problem.answer,
            "tests": problem.tests,
            "meta": problem.meta,
        }
    )


def dump_sample(sample: SampleRecord) -> str:
    """One sample line (no trailing newline)."""
    return _dumps(
        {
            "type": "sample",
            "problem": sample.problem_key,
            "index": sample.index,
            "text": sample.text,
            "verdict": sample.verdict,
            "answer": sample.answer,
            "tokens": sample.num_tokens,
            "finish_reason": sample.finish_reason,
            "grader_detail": sample.grader_detail,
        }
    )


def dump_record(record: HeaderRecord | ProblemRecord | SampleRecord) -> str:
    """One line for any record this format holds (counts have no place in it)."""
    if isinstance(record, HeaderRecord):
        return dump_header(record)
    if isinstance(record, ProblemRecord):
        return dump_problem(record)
    if isinstance(record, SampleRecord):
        return dump_sample(record)
    raise TypeError(f"the samples format cannot hold a {type(record).__name__}")
