"""lm-evaluation-harness per-sample logs: ``samples_<task>_<date>.jsonl`` (``--log_samples``).

``evaluate()`` in EleutherAI/lm-evaluation-harness ``lm_eval/evaluator.py`` builds, for every
filter and every document, ``{"doc_id", "doc", "target", "arguments", "resps",
"filtered_resps", "filter", "metrics", "doc_hash", "prompt_hash", "target_hash"}`` plus
one key per metric value; ``EvaluationTracker.save_results_samples`` in
``lm_eval/loggers/evaluation_tracker.py`` writes one such object per line, with ``arguments``
reshaped to ``{"gen_args_0": {"arg_0": prompt, "arg_1": generation kwargs}}``, ``target``
as a string, and ``resps`` / ``filtered_resps`` with every leaf turned into a string.

For a ``generate_until`` task, a document has one request that runs ``repeats`` times, so
``resps == [[text_1, ..., text_N]]``; ``filtered_resps == [x]`` where ``x`` is one string
(the filter ended in ``take_first`` or ``majority_vote``) or a list of strings (one per
repeat, when the filter kept them all). Mapping, also in docs/import-formats.md:

* one filter per document: the first line seen for a ``doc_id`` wins; later lines for the
  same document under another filter are skipped. Older harness versions wrote no
  ``"filter"`` key; there a later line with the same responses is taken for another
  filter's line and skipped, and one with different responses is a duplicate.
* one SampleRecord per repeat, ``text = resps[0][i]``; ``answer`` is the filtered response
  of that repeat when the filter kept one per repeat, or the only one when ``N == 1``.
* the verdict comes from the line's 0/1 metric (``exact_match``, else ``acc``, else
  ``pass@1``) only when ``N == 1``: that metric then scores exactly this one generation.
  With ``N > 1`` the metrics score the document (first response, majority vote, pass@N...)
  and say nothing certain about each repeat, so every repeat is ``ungraded``; comparing the
  per-repeat answers with the target ourselves would need the task's exact_match options
  (``ignore_case``, ``regexes_to_ignore``), which the samples file does not hold.
* loglikelihood (multiple-choice) tasks generate no text and are refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from app.importers.jsonl import (
    LineError,
    as_int,
    as_list,
    as_object,
    as_str,
    describe,
    read_objects,
    reading,
    require,
    stringify,
)
from app.importers.records import ProblemRecord, Record, SampleRecord, Verdict

# Where a document keeps its problem statement, most specific first; when none is a string
# the prompt the model was given (``arguments``) stands in.
STATEMENT_FIELDS = ("question", "problem", "prompt")
# Document fields that are answers, reference solutions or tests: too long, or too revealing,
# for a problem's meta. Every other scalar field of the document (level, type, task_id...) is kept.
NOT_META = frozenset({"answer", "solution", "canonical_solution", "target", "test", "tests"})
# Per-document metrics that score a single generation 0 or 1, in order of preference.
BINARY_METRICS = ("exact_match", "acc", "pass@1")


def parse(path: Path) -> Iterator[tuple[int, Record]]:
    """Yield, per document, its problem and one SampleRecord per repeat (one filter's line only)."""
    # doc key -> (first line, filter, digest of its responses)
    seen: dict[str, tuple[int, str | None, str]] = {}
    for number, row in read_objects(path):
        with reading(path, number):
            key = str(as_int(require(row, "doc_id"), "doc_id", minimum=0))
            filter_name = as_str(row.get("filter"), "filter", nullable=True)
            texts = _texts(row)
            digest = hashlib.blake2b(json.dumps(texts).encode(), digest_size=16).hexdigest()
            if key in seen:
                earlier, earlier_filter, earlier_digest = seen[key]
                if _another_filter(filter_name, earlier_filter, digest, earlier_digest):
                    continue
                raise LineError(f"duplicate document: doc_id {key} also at line {earlier}")
            seen[key] = (number, filter_name, digest)
            problem = _problem(key, row)
            samples = _samples(key, row, texts, filter_name)
        yield number, problem
        for sample in samples:
            yield number, sample


def _another_filter(name: str | None, earlier: str | None, digest: str, earlier_digest: str) -> bool:
    """Whether a repeated doc_id is the same document logged under another filter."""
    if name is not None or earlier is not None:
        return name != earlier
    return digest == earlier_digest


def _texts(row: dict[str, Any]) -> list[str]:
    requests = as_list(require(row, "resps"), "resps")
    if len(requests) != 1:
        raise LineError(
            f'field "resps" holds {len(requests)} requests; only generate_until tasks '
            "(one request per document, repeated) can be imported"
        )
    texts = as_list(requests[0], "resps[0]")
    if not texts:
        raise LineError('field "resps[0]" holds no responses')
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise LineError(
                f'field "resps[0][{i}]" must be a generated text, got {describe(text)}; '
                "loglikelihood (multiple-choice) tasks generate no text"
            )
    return texts


def _problem(key: str, row: dict[str, Any]) -> ProblemRecord:
    doc = as_object(row.get("doc"), "doc", nullable=True) or {}
    used = next((name for name in STATEMENT_FIELDS if isinstance(doc.get(name), str)), None)
    statement = doc[used] if used is not None else _prompt(row.get("arguments"))
    meta = {
        name: value
        for name, value in doc.items()
        if name != used and name not in NOT_META and isinstance(value, str | int | float | bool)
    }
    return ProblemRecord(key=key, statement=statement, answer=stringify(row.get("target")), meta=meta)


def _prompt(arguments: Any) -> str | None:
    """The first request's prompt, from ``{"gen_args_0": {"arg_0": prompt}}`` or ``[[prompt, kwargs]]``."""
    first: Any = None
    if isinstance(arguments, dict):
        first = arguments.get("gen_args_0")
        first = first.get("arg_0") if isinstance(first, dict) else None
    elif isinstance(arguments, list) and arguments and isinstance(arguments[0], list) and arguments[0]:
        first = arguments[0][0]
    return first if isinstance(first, str) else None


def _samples(key: str, row: dict[str, Any], texts: list[str], filter_name: str | None) -> list[SampleRecord]:
    filtered = as_list(require(row, "filtered_resps"), "filtered_resps")
    if len(filtered) != 1:
        raise LineError(f'field "filtered_resps" holds {len(filtered)} entries but "resps" holds 1 request')
    answers = _answers(filtered[0], len(texts))
    verdict: Verdict = "ungraded"
    detail: dict[str, Any] = {} if filter_name is None else {"filter": filter_name}
    if len(texts) == 1:
        for metric in BINARY_METRICS:
            value = row.get(metric)
            if not isinstance(value, bool | int | float) or value not in (0, 1):
                continue
            verdict = "correct" if value == 1 else "incorrect"
            detail.update(metric=metric, value=value)
            break
    return [
        SampleRecord(
            problem_key=key,
            index=i,
            text=text,
            verdict=verdict,
            answer=answers[i],
            grader_detail=dict(detail) or None,
        )
        for i, text in enumerate(texts)
    ]


def _answers(filtered: Any, repeats: int) -> list[str | None]:
    """Per-repeat extracted answers, where the filtered response holds one per repeat."""
    if isinstance(filtered, list):
        if len(filtered) == repeats:
            return [stringify(answer) for answer in filtered]
    elif repeats == 1:
        return [stringify(filtered)]
    return [None] * repeats
