r"""Prompt templates: how a problem becomes what an engine continues (raw text or chat messages).

Built-in templates (`TEMPLATES`):

- ``qwen-boxed`` -- the Qwen2.5-Math evaluation harness's ``qwen-boxed`` prompt, the default of
  LeapLabTHU/limit-of-RLVR (Yue et al. 2025: README, run_sharded_eval.sh) for base and RL models alike,
  sent as *raw text* with the Qwen chat markup written out. Source: QwenLM/Qwen2.5-Math
  ``evaluation/utils.py`` PROMPT_TEMPLATES["qwen-boxed"] (the same in hkust-nlp/simpleRL-reason), which
  renders, as Python string literals::

      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
      "<|im_start|>user\n{question}\n"
      "Please reason step by step, and put your final answer within \boxed{}.<|im_end|>\n"
      "<|im_start|>assistant\n"

  The question is the statement stripped of surrounding whitespace, as the harness's parse_question does
  (it also appends " (Yes or No)" / " (True or False)" when the gold answer is one of those words; no
  answer in the registered benchmarks is, so that rule is left out).
- ``question-only`` -- the bare question as raw text.
- ``chat`` -- one user message, the question, a newline and the same boxed instruction, rendered by the
  engine with the model's own chat template; for MBPP-style code problems the message asks for a
  ```python block instead.
- ``code-completion`` -- HumanEval-style problems: the prompt itself, raw, for the model to continue;
  MBPP-style problems: the task and its tests, then a request for the function in a ```python block.
- ``arithmetic-fewshot`` -- for small chat models on the ``arithmetic`` benchmark: two worked examples
  as earlier user/assistant turns, then the question, each user turn asking for "The answer is N".

A template of your own is ``file:PATH``:

- a ``.json`` file holding ``{"text": "..."}`` (raw text) or ``{"messages": [{"role": "system",
  "content": "..."}, {"role": "user", "content": "..."}]}`` (chat), or an object with one such form
  per kind of problem: ``{"math": ..., "continue": ..., "full": ...}`` (continue = HumanEval-style
  code, full = MBPP-style code); ``template_text`` of a built-in template is such a file;
- any other file: its whole content is a raw-text template.

Placeholders use Python's str.format syntax: ``{question}`` is the problem statement and must appear;
no other name is known, and literal braces are doubled, as in ``\boxed{{}}``.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from app.core.errors import InvalidInputError
from worker.types import Prompt, TaskProblem

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{{}}."
CODE_INSTRUCTION = "Write the Python function in a single ```python code block."
ARITHMETIC_INSTRUCTION = 'Solve it step by step, then end with "The answer is" and the number.'
# Two worked examples (not in the arithmetic benchmark) sent as earlier chat turns: without them
# SmolLM2-135M-Instruct rambles until max_tokens (FACTS.md); with them it answers in 50-75 tokens on average.
ARITHMETIC_EXAMPLES = (
    (
        "Mia has 8 oranges. She buys 3 bags with 4 oranges in each bag. How many oranges does Mia have now?",
        "3 bags with 4 oranges each hold 3 * 4 = 12 oranges. 8 + 12 = 20. The answer is 20.",
    ),
    (
        "A shop has 45 balloons. It sells 5 packs of 6 balloons and then gets 10 new balloons. "
        "How many balloons does the shop have now?",
        "5 packs of 6 balloons are 5 * 6 = 30 balloons. 45 - 30 = 15. 15 + 10 = 25. The answer is 25.",
    ),
)
PLACEHOLDERS = ("question",)
KINDS = ("math", "continue", "full")
ROLES = ("system", "user", "assistant")
FILE_PREFIX = "file:"

# What the Qwen2.5-Math harness stops generation on for the "qwen" prompt types (math_eval.py), besides
# the <|im_end|> / <|endoftext|> token ids it also passes for Qwen2 models.
QWEN_HARNESS_STOP = ("</s>", "<|im_end|>", "<|endoftext|>", "assistant", "user", "_end", "_start")

_BUILTIN: dict[str, dict[str, Any]] = {
    "qwen-boxed": {
        "math": {
            "text": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            "<|im_start|>user\n{question}\n" + BOXED_INSTRUCTION + "<|im_end|>\n"
            "<|im_start|>assistant\n"
        }
    },
    "question-only": {
        "math": {"text": "{question}"},
        "continue": {"text": "{question}"},
        "full": {"text": "{question}"},
    },
    "chat": {
        "math": {"messages": [{"role": "user", "content": "{question}\n" + BOXED_INSTRUCTION}]},
        "full": {"messages": [{"role": "user", "content": "{question}\n\n" + CODE_INSTRUCTION}]},
    },
    "code-completion": {
        "continue": {"text": "{question}"},
        "full": {"text": "{question}\n\n" + CODE_INSTRUCTION + "\n"},
    },
    "arithmetic-fewshot": {
        "math": {
            "messages": [
                *(
                    message
                    for question, solution in ARITHMETIC_EXAMPLES
                    for message in (
                        {"role": "user", "content": question + "\n" + ARITHMETIC_INSTRUCTION},
                        {"role": "assistant", "content": solution},
                    )
                ),
                {"role": "user", "content": "{question}\n" + ARITHMETIC_INSTRUCTION},
            ]
        }
    },
}
TEMPLATES: tuple[str, ...] = tuple(_BUILTIN)
_STOP = {"qwen-boxed": QWEN_HARNESS_STOP}


@dataclass(frozen=True)
class Template:
    """A parsed template: one form (raw text or chat messages) per kind of problem it can render."""

    name: str
    text: str
    forms: Mapping[str, Mapping[str, Any]]

    def render(self, problem: TaskProblem) -> Prompt:
        """The prompt for one problem."""
        kind = problem_kind(problem)
        form = self.forms.get(kind)
        if form is None:
            raise InvalidInputError(
                f"template {self.name!r} has no form for {kind} problems "
                f"(it renders: {', '.join(self.forms)}); problem {problem.key!r}",
                field="template",
            )
        question = problem.statement if kind == "continue" else problem.statement.strip()
        if "text" in form:
            return Prompt(text=form["text"].format(question=question))
        return Prompt(
            messages=tuple(
                {"role": m["role"], "content": m["content"].format(question=question)}
                for m in form["messages"]
            )
        )


def problem_kind(problem: TaskProblem) -> str:
    """The kind of problem: math, or a code problem's completion mode (continue: HumanEval, full: MBPP)."""
    mode = problem.meta.get("completion_mode")
    if mode is None:
        return "full" if problem.tests is not None else "math"
    if mode not in ("continue", "full"):
        raise InvalidInputError(
            f"unknown completion_mode {mode!r} in problem {problem.key!r}", field="template"
        )
    return mode


def render_prompt(template: str, problem: TaskProblem) -> Prompt:
    """The prompt that `template` (a name in TEMPLATES or "file:PATH") makes of `problem`."""
    return load_template(template).render(problem)


def template_text(template: str) -> str:
    """The exact text of a template, to record in a run's provenance (a file's content, verbatim)."""
    return load_template(template).text


def stop_sequences(template: str) -> tuple[str, ...]:
    """The stop strings the reference harness uses with a built-in template (empty when it has none)."""
    return _STOP.get(template, ())


def load_template(template: str) -> Template:
    """A built-in template by name, or a template file "file:PATH" (re-read when the file changes)."""
    if template in _BUILTIN:
        return _builtin(template)
    if not template.startswith(FILE_PREFIX) or not template.removeprefix(FILE_PREFIX):
        known = ", ".join((*TEMPLATES, "file:PATH"))
        raise InvalidInputError(f"unknown template {template!r}; choose one of {known}", field="template")
    path = Path(template.removeprefix(FILE_PREFIX))
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise InvalidInputError(f"template file {path} not found", field="template") from None
    return _file_template(str(path), stat.st_mtime_ns, stat.st_size)


@cache
def _builtin(name: str) -> Template:
    forms = _BUILTIN[name]
    text = json.dumps(forms, indent=2, ensure_ascii=False) + "\n"
    return Template(name=name, text=text, forms=_check_forms(forms, where=f"template {name}"))


@lru_cache(maxsize=64)
def _file_template(path: str, mtime_ns: int, size: int) -> Template:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read template file {path}: {exc}", field="template") from None
    return template_from_text(text, name=f"{FILE_PREFIX}{path}", json_format=path.endswith(".json"))


def template_from_text(text: str, *, name: str, json_format: bool) -> Template:
    """Parse a template from its text (a file's content or what a run recorded): JSON forms or raw text."""
    if not json_format:
        forms: Any = {"any": {"text": text}}
    else:
        try:
            forms = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{name}:{exc.lineno}: invalid JSON: {exc.msg}", field="template"
            ) from None
        if not isinstance(forms, dict):
            raise InvalidInputError(f"{name}: the JSON must be an object", field="template")
        if "text" in forms or "messages" in forms:
            forms = {"any": forms}
    if "any" in forms:  # one form for every kind of problem; a kind named as well keeps its own
        forms = {**dict.fromkeys(KINDS, forms["any"]), **{k: v for k, v in forms.items() if k != "any"}}
    return Template(name=name, text=text, forms=_check_forms(forms, where=name))


def _check_forms(forms: Mapping[str, Any], *, where: str) -> dict[str, dict[str, Any]]:
    checked: dict[str, dict[str, Any]] = {}
    for kind, form in forms.items():
        if kind not in KINDS:
            raise InvalidInputError(
                f"{where}: unknown key {kind!r}; use text, messages, or one of {', '.join(KINDS)}",
                field="template",
            )
        checked[kind] = _check_form(form, where=f"{where} ({kind})")
    return checked


def _check_form(form: Any, *, where: str) -> dict[str, Any]:
    if not isinstance(form, dict) or len(form) != 1 or not {"text", "messages"} & set(form):
        raise InvalidInputError(
            f'{where}: expected {{"text": ...}} or {{"messages": [...]}}', field="template"
        )
    if "text" in form:
        if not isinstance(form["text"], str):
            raise InvalidInputError(f"{where}: text must be a string", field="template")
        _check_placeholders([form["text"]], where=where)
        return {"text": form["text"]}
    messages = form["messages"]
    if not isinstance(messages, list) or not messages:
        raise InvalidInputError(f"{where}: messages must be a non-empty list", field="template")
    for i, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or set(message) != {"role", "content"}
            or message["role"] not in ROLES
            or not isinstance(message["content"], str)
        ):
            raise InvalidInputError(
                f'{where}: message {i + 1} must be {{"role": {"|".join(ROLES)}, "content": string}}',
                field="template",
            )
    if messages[-1]["role"] != "user":
        raise InvalidInputError(f"{where}: the last message must be the user's", field="template")
    _check_placeholders([m["content"] for m in messages], where=where)
    return {"messages": [dict(m) for m in messages]}


def _check_placeholders(texts: list[str], *, where: str) -> None:
    """Every placeholder is a known name without format spec; {question} appears at least once."""
    found = set()
    for text in texts:
        try:
            parsed = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise InvalidInputError(
                f"{where}: {exc} (write literal braces twice, as in \\boxed{{{{}}}})", field="template"
            ) from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in PLACEHOLDERS:
                shown = "{" + name + "}"
                raise InvalidInputError(
                    f"{where}: unknown placeholder {shown}; the only one is {{question}} "
                    "(write literal braces twice, as in \\boxed{{}})",
                    field="template",
                )
            if spec or conversion:
                raise InvalidInputError(f"{where}: write {{{name}}} without a format spec", field="template")
            found.add(name)
    if "question" not in found:
        raise InvalidInputError(f"{where}: the template has no {{question}} placeholder", field="template")
