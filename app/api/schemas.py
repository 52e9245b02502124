"""Pydantic request and response models of the API; every field says what it holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

T = TypeVar("T")

MAX_ID = 2**63 - 1


def _storable(value: str) -> str:
    """Refuse text no database here can store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


StorableText = Annotated[str, AfterValidator(_storable)]


def _aware(value: datetime) -> datetime:
    """Times are stored in UTC; SQLite hands them back without a zone, which RFC 3339 requires."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_aware)]


class Out(BaseModel):
    """Base of response models: built from the services' dataclasses and ORM rows by attribute."""

    model_config = ConfigDict(from_attributes=True)


class Page(Out, Generic[T]):
    """One page of a listing in a stable order."""

    items: list[T] = Field(description="The items of this page.")
    total: int = Field(description="How many items match the filters in all pages together.")
    offset: int = Field(description="Index of the first item of this page among all matching items.")
    limit: int = Field(description="The most items a page holds.")


# -- benchmarks and models ----------------------------------------------------------------------------------


class BenchmarkOut(Out):
    """A benchmark (a problem set at a fixed version)."""

    id: int = Field(description="Benchmark id.")
    name: str = Field(description="Unique name, e.g. `math500`.")
    problems: int = Field(description="Number of problems stored.")
    meta_keys: list[str] = Field(description="Metadata keys found on its problems (e.g. subject, level).")


class ModelOut(Out):
    """A model checkpoint with its lineage."""

    id: int = Field(description="Model id.")
    name: str = Field(description="Hugging Face id, path or served name.")
    kind: str = Field(description="How it was made: base, rl, sft, distill, instruct or other.")
    base_model_id: int | None = Field(description="Id of the model it was trained from, if known.")
    base_model: str | None = Field(description="Name of the model it was trained from, if known.")
    runs: int = Field(description="Number of runs of this model.")


# -- runs ---------------------------------------------------------------------------------------------------


class RunOut(Out):
    """A run: one model on one benchmark with one sampling configuration (or one imported file)."""

    id: int = Field(description="Run id.")
    name: str | None = Field(description="Optional label.")
    model_id: int = Field(description="Id of the model.")
    model: str = Field(description="Model name.")
    kind: str = Field(description="Model kind (base, rl, ...).")
    base_model: str | None = Field(description="The model's base model, if known.")
    benchmark_id: int = Field(description="Id of the benchmark.")
    benchmark: str = Field(description="Benchmark name.")
    engine: str = Field(description="Sampling engine (vllm, openai, hf) or `import`.")
    temperature: float | None = Field(description="Sampling temperature.")
    top_p: float | None = Field(description="Nucleus sampling parameter.")
    max_tokens: int | None = Field(description="Generated tokens per sample at most.")
    seed: int | None = Field(description="Run seed.")
    n_per_problem: int = Field(description="Samples per problem asked for.")
    has_samples: bool = Field(description="False for a counts-only import (no traces stored).")
    grader: str | None = Field(description="Grader name.")
    grader_version: str | None = Field(description="Grader version.")
    status: str = Field(description="queued, running, done, failed or cancelled.")
    samples_done: int = Field(description="Samples written so far.")
    samples_total: int = Field(description="Samples the run will have when done.")
    progress: float = Field(description="samples_done / samples_total (1.0 for an empty total).")
    error: str | None = Field(description="Why the run failed, if it did.")
    created_at: UtcDatetime = Field(description="When the run was created.")
    started_at: UtcDatetime | None = Field(description="When the first worker (or import) started on it.")
    finished_at: UtcDatetime | None = Field(description="When it finished, failed or was cancelled.")

    @classmethod
    def of(cls, run: Any) -> RunOut:
        """The response for an ORM Run with its model and benchmark loaded."""
        total = int(run.samples_total or 0)
        done = int(run.samples_done or 0)
        return cls(
            id=run.id,
            name=run.name,
            model_id=run.model_id,
            model=run.model.name,
            kind=run.model.kind.value,
            base_model=run.model.base_model.name if run.model.base_model else None,
            benchmark_id=run.benchmark_id,
            benchmark=run.benchmark.name,
            engine=run.engine,
            temperature=run.temperature,
            top_p=run.top_p,
            max_tokens=run.max_tokens,
            seed=run.seed,
            n_per_problem=run.n_per_problem,
            has_samples=run.has_samples,
            grader=run.grader,
            grader_version=run.grader_version,
            status=run.status.value,
            samples_done=done,
            samples_total=total,
            progress=min(done / total, 1.0) if total else 1.0,
            error=run.error,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


class RunCreate(BaseModel):
    """A sampling run to queue for workers."""

    model_config = ConfigDict(extra="forbid")

    model: Annotated[StorableText, Field(min_length=1, max_length=300)] = Field(
        description="Hugging Face id or local path of the model (or the served name)."
    )
    benchmark: Annotated[StorableText, Field(min_length=1, max_length=200)] = Field(
        description="A stored benchmark's name, or one the worker registry knows (`coverscope benchmarks`)."
    )
    n: int = Field(default=256, ge=1, le=100_000, description="Samples per problem.")
    temperature: float = Field(default=0.6, ge=0.0, le=100.0, description="Sampling temperature.")
    top_p: float = Field(default=0.95, gt=0.0, le=1.0, description="Nucleus sampling parameter.")
    max_tokens: int = Field(
        default=16384, ge=1, le=10_000_000, description="Generated tokens per sample at most."
    )
    seed: int | None = Field(
        default=0, ge=0, le=MAX_ID, description="Run seed (each problem derives its own)."
    )
    template: (
        Literal["qwen-boxed", "question-only", "chat", "code-completion", "arithmetic-fewshot"] | None
    ) = Field(default=None, description="Built-in prompt template (default: the benchmark's).")
    engine: Literal["vllm", "openai", "hf"] = Field(default="vllm", description="Sampling engine.")
    grader: Literal["math", "code", "none"] | None = Field(
        default=None, description="Grader (default: the benchmark's)."
    )
    kind: Literal["base", "rl", "sft", "distill", "instruct", "other"] | None = Field(
        default=None, description="The model's kind, if new or not yet known."
    )
    base_model: Annotated[StorableText, Field(min_length=1, max_length=300)] | None = Field(
        default=None, description="The model this one was trained from."
    )
    revision: Annotated[StorableText, Field(max_length=200)] | None = Field(
        default=None, description="Model revision (commit) to load."
    )
    base_url: Annotated[StorableText, Field(max_length=500)] | None = Field(
        default=None, description="OpenAI-compatible server for the openai engine, e.g. http://h:8000/v1."
    )
    limit: int | None = Field(default=None, ge=1, le=10_000_000, description="Only the first N problems.")
    unit_size: int = Field(default=16, ge=1, le=100_000, description="Problems per work unit.")
    stop: list[Annotated[StorableText, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=32, description="Stop strings."
    )
    name: Annotated[StorableText, Field(max_length=300)] | None = Field(default=None, description="A label.")


# -- problems -----------------------------------------------------------------------------------------------


class RunCellOut(Out):
    """A run's counts on one problem."""

    n: int = Field(description="Graded samples.")
    correct: int = Field(description="Correct samples among them.")
    errors: int = Field(description="Samples whose grading timed out or failed.")


class EvidenceOut(Out):
    """Why a problem counts as solved by one run only: the counts and how unlikely the other run's were."""

    c_a: int = Field(description="Correct samples of run A.")
    n_a: int = Field(description="Graded samples of run A.")
    c_b: int = Field(description="Correct samples of run B.")
    n_b: int = Field(description="Graded samples of run B.")
    p_value: float | None = Field(
        description="One-sided Fisher exact p-value that the solving run is better."
    )
    q_value: float | None = Field(description="Benjamini-Hochberg q-value over the set.")
    p_binomial: float | None = Field(
        description="P(other run sees at most its correct count) at the solving run's rate."
    )


class ProblemRowOut(Out):
    """A problem in a listing with its counts per run."""

    id: int = Field(description="Problem id.")
    key: str = Field(description="The benchmark's own id for the problem.")
    position: int = Field(description="Order within the benchmark.")
    meta: dict[str, Any] = Field(description="Metadata (subject, level, ...).")
    answer: str | None = Field(description="Gold answer.")
    per_run: dict[str, RunCellOut] = Field(description="Counts per run id (keys are run ids).")
    evidence: EvidenceOut | None = Field(
        default=None, description="Evidence behind an only_a / only_b coverage filter."
    )


class ProblemRunOut(Out):
    """One run's result on one problem."""

    run_id: int = Field(description="Run id.")
    model: str = Field(description="Model name.")
    kind: str = Field(description="Model kind.")
    n: int = Field(description="Graded samples.")
    correct: int = Field(description="Correct samples.")
    errors: int = Field(description="Timeouts and grading errors.")
    ungraded: int = Field(description="Samples not graded (not counted in n).")
    pass_at_k: dict[str, float] = Field(description="Unbiased pass@k by k (only k <= n).")


class ProblemOut(Out):
    """A problem in full with its per-run rows."""

    id: int = Field(description="Problem id.")
    key: str = Field(description="The benchmark's own id for the problem.")
    position: int = Field(description="Order within the benchmark.")
    benchmark_id: int = Field(description="Benchmark id.")
    benchmark: str = Field(description="Benchmark name.")
    statement: str | None = Field(description="Problem statement.")
    answer: str | None = Field(description="Gold answer.")
    tests: str | None = Field(description="Test code (code problems).")
    meta: dict[str, Any] = Field(description="Metadata (subject, level, ...).")
    runs: list[ProblemRunOut] = Field(description="One row per run with counts on this problem.")


class AnswerClusterOut(Out):
    """A distinct extracted answer of a problem."""

    answer: str | None = Field(description="The extracted answer (null: none was extracted).")
    correct: bool | None = Field(
        description="True if graded correct, false if graded and never correct, null if never graded."
    )
    counts: dict[str, int] = Field(description="Samples with this answer per run id.")
    total: int = Field(description="Samples with this answer over the runs.")


# -- samples and annotations ---------------------------------------------------------------------------------


class SampleRowOut(Out):
    """A sample in a listing."""

    id: int = Field(description="Sample id.")
    run_id: int = Field(description="Run id.")
    problem_id: int = Field(description="Problem id.")
    problem_key: str = Field(description="Problem key.")
    idx: int = Field(description="Index of the sample among the run's samples of this problem.")
    answer: str | None = Field(description="Extracted answer.")
    verdict: str = Field(description="correct, incorrect, timeout, error or ungraded.")
    num_tokens: int | None = Field(description="Generated tokens.")
    finish_reason: str | None = Field(description="Why generation stopped (stop, length, ...).")
    preview: str = Field(description="The first 200 characters of the text.")


class AnnotationOut(Out):
    """A person's label on a sample."""

    id: int = Field(description="Annotation id.")
    sample_id: int = Field(description="Sample id.")
    run_id: int = Field(description="Run of the sample.")
    problem_id: int = Field(description="Problem of the sample.")
    label: str = Field(description="valid_reasoning, flawed_reasoning, lucky_guess or other.")
    note: str | None = Field(description="Free text.")
    author: str | None = Field(description="Who labelled it.")
    created_at: UtcDatetime = Field(description="When.")


class AnnotationCreate(BaseModel):
    """A label for a sample."""

    model_config = ConfigDict(extra="forbid")

    label: Literal["valid_reasoning", "flawed_reasoning", "lucky_guess", "other"] = Field(
        description="What the trace is judged to be."
    )
    note: Annotated[StorableText, Field(max_length=20_000)] | None = Field(
        default=None, description="Free text."
    )
    author: Annotated[StorableText, Field(max_length=200)] | None = Field(
        default=None, description="Who labels it."
    )


class SampleOut(Out):
    """A sample in full."""

    id: int = Field(description="Sample id.")
    run_id: int = Field(description="Run id.")
    model: str = Field(description="Model name.")
    kind: str = Field(description="Model kind.")
    problem_id: int = Field(description="Problem id.")
    problem_key: str = Field(description="Problem key.")
    benchmark: str = Field(description="Benchmark name.")
    idx: int = Field(description="Index among the run's samples of this problem.")
    text: str = Field(description="The generated text.")
    answer: str | None = Field(description="Extracted answer.")
    verdict: str = Field(description="correct, incorrect, timeout, error or ungraded.")
    num_tokens: int | None = Field(description="Generated tokens.")
    finish_reason: str | None = Field(description="Why generation stopped.")
    grader_detail: dict[str, Any] | None = Field(description="What the grader reported.")
    gold_answer: str | None = Field(description="The problem's gold answer.")
    annotations: list[AnnotationOut] = Field(description="Labels people gave this sample, oldest first.")
    previous_id: int | None = Field(
        description="Previous sample of the run (same problem, then earlier ones)."
    )
    next_id: int | None = Field(description="Next sample of the run (same problem, then later ones).")


# -- analysis -----------------------------------------------------------------------------------------------


class RunSummaryOut(BaseModel):
    """Identity of a run in an analysis."""

    run_id: int = Field(description="Run id.")
    model: str = Field(description="Model name.")
    kind: str = Field(description="Model kind.")
    base_model: str | None = Field(description="Base model name, if known.")
    benchmark: str = Field(description="Benchmark name.")
    problems: int = Field(description="Problems with graded samples.")
    n_min: int = Field(description="Smallest number of graded samples of a problem.")
    n_max: int = Field(description="Largest number of graded samples of a problem.")


class CurveOut(RunSummaryOut):
    """A run's pass@k curve."""

    ks: list[int] = Field(description="The ks.")
    pass_at_k: list[float | None] = Field(description="Mean unbiased pass@k over problems at each k.")
    lower: list[float | None] | None = Field(description="Lower interval bound at each k (with ci).")
    upper: list[float | None] | None = Field(description="Upper interval bound at each k (with ci).")


class IntervalOut(BaseModel):
    """How the curve intervals were computed."""

    method: str = Field(description="Interval method.")
    confidence: float = Field(description="Confidence level.")
    bootstrap: int = Field(description="Bootstrap resamples.")
    seed: int = Field(description="Random seed (same seed, same intervals).")


class CurvesOut(BaseModel):
    """pass@k curves of runs."""

    runs: list[CurveOut] = Field(description="One curve per requested run, in request order.")
    interval: IntervalOut | None = Field(description="Interval method (null without ci).")


class CompareEvidenceRow(BaseModel):
    """Evidence for one problem of an only-A or only-B set."""

    problem: str = Field(description="Problem key.")
    c_a: int = Field(description="Correct samples of A.")
    n_a: int = Field(description="Graded samples of A.")
    c_b: int = Field(description="Correct samples of B.")
    n_b: int = Field(description="Graded samples of B.")
    p_value: float | None = Field(description="One-sided Fisher exact p-value.")
    q_value: float | None = Field(description="Benjamini-Hochberg q-value.")
    p_binomial: float | None = Field(description="Binomial tail of the other run at the solver's rate.")


class CompareEvidence(BaseModel):
    """Evidence behind the only-A and only-B sets."""

    only_a: list[CompareEvidenceRow] = Field(description="Problems solved by A only.")
    only_b: list[CompareEvidenceRow] = Field(description="Problems solved by B only.")


class DifferenceOut(BaseModel):
    """Simultaneous band of pass@k(B) - pass@k(A) over k and where B is better or worse."""

    ks: list[int] = Field(description="The ks.")
    mean: list[float | None] = Field(description="Estimated difference at each k.")
    lower: list[float | None] = Field(description="Lower band.")
    upper: list[float | None] = Field(description="Upper band.")
    b_better: list[int] = Field(description="ks where B is certified better.")
    b_worse: list[int] = Field(description="ks where B is certified worse.")
    undetermined: list[int] = Field(description="ks where neither is certified.")
    first_loss_interval: list[int | None] | None = Field(
        description="[lo, hi] bounding the first k where B falls below A (hi null: no loss certified)."
    )
    certified_crossing: bool = Field(description="Whether a crossing of the curves is certified.")
    critical_value: float | None = Field(description="The band's critical value.")
    alpha: float = Field(description="Simultaneous error level.")
    bootstrap: int = Field(description="Resamples.")
    seed: int = Field(description="Random seed.")
    direction: str = Field(description="Always `B minus A`.")
    method: str = Field(description="How the band was computed.")


class CompareOut(BaseModel):
    """Coverage sets of runs A and B at k with evidence, and the difference band over k."""

    k: int = Field(description="The k of the coverage sets.")
    threshold: float = Field(description="Solved means pass@k >= threshold.")
    a: RunSummaryOut = Field(description="Run A.")
    b: RunSummaryOut = Field(description="Run B.")
    problems_compared: int = Field(description="Problems both runs have graded samples on.")
    only_in_a: int = Field(description="Problems only A has graded (left out).")
    only_in_b: int = Field(description="Problems only B has graded (left out).")
    both: list[str] = Field(description="Problem keys solved by both at k.")
    only_a: list[str] = Field(description="Problem keys solved by A only.")
    only_b: list[str] = Field(description="Problem keys solved by B only.")
    neither: list[str] = Field(description="Problem keys solved by neither.")
    evidence: CompareEvidence = Field(description="Evidence behind only_a and only_b.")
    difference: DifferenceOut | None = Field(description="The band (null with fewer than two problems).")


class HistogramRunOut(RunSummaryOut):
    """A run's histogram of per-problem accuracy c/n."""

    labels: list[str] = Field(description="Bin labels (0, (0,0.1], ..., 1).")
    counts: list[int] = Field(description="Problems per bin.")
    fractions: list[float] = Field(description="Share of problems per bin.")
    mean_accuracy: float = Field(description="Mean of c/n over problems (pass@1).")


class HistogramOut(BaseModel):
    """Accuracy histograms of runs."""

    runs: list[HistogramRunOut] = Field(description="One histogram per requested run, in request order.")


# -- imports ------------------------------------------------------------------------------------------------


class ImportOut(BaseModel):
    """What an upload did."""

    run: RunOut = Field(description="The run the file became (or, for a file imported before, the old one).")
    created: bool = Field(description="False when these exact bytes had been imported already.")
    problems: int = Field(description="Problems written.")
    samples: int = Field(description="Samples written.")
    counts_only: bool = Field(description="True for a counts file (no traces).")
