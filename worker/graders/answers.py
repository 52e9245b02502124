"""Final-answer extraction from generated math solutions, and the normal form used as a verdict-cache key.

`extract_answer` tries, in order, and reports which one matched as its method:

1. ``"boxed"``: the last non-empty ``\\boxed{...}`` (balanced braces), ``\\boxed X`` (no braces: up to the
   next ``$`` or line end) or ``\\fbox{...}``; what Qwen2.5-Math's harness and most math models use.
2. ``"answer_marker"``: the last line that starts with ``####`` (GSM8K's format) or ``A:`` (the format of
   OpenAI's GSM8K example solutions).
3. ``"answer_phrase"``: the last "the answer is X", "final answer is X" or "final answer: X", up to the end
   of the sentence; a ``$...$`` span in it is taken as the answer.
4. ``"last_number"``: the last number in the text (thousands separators removed), as Qwen2.5-Math's
   harness does; only when the caller allows it (the grader allows it for plain-number gold answers).
5. ``"none"``: no answer (the answer is None).
"""

from __future__ import annotations

import re

METHODS = ("boxed", "answer_marker", "answer_phrase", "last_number", "none")

_BOXED = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
# After \boxed: a brace (after optional spaces), or a space and then a bare answer up to "$" or line end.
_AFTER_BOX = re.compile(r"\s*(?P<brace>\{)|[ \t]+(?P<bare>[^$\n]*)")
_BRACE_TOKEN = re.compile(r"\\.|[{}]", re.DOTALL)
_MARKER = re.compile(r"^[ \t]*(?:####|A:)[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_PHRASE = re.compile(
    r"(?:final\s+answer|the\s+answer)\s*(?:\*\*)?\s*(?:is\b|:)(?:\*\*)?[ \t]*:?", re.IGNORECASE
)
_NUMBER = re.compile(
    r"(?:(?<![A-Za-z0-9_)\]}])-)?(?<![A-Za-z0-9_.])(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])|(?<![A-Za-z0-9_.])\.\d+"
)
_PLAIN_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_MATH_SPAN = re.compile(r"(?<!\\)\$\$?(.+?)(?<!\\)\$\$?|\\\((.+?)\\\)", re.DOTALL)
_DELIMITED = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))
# One backslash token at a time, so that the line break ``\\\\`` is never read as the start of a command.
_LAYOUT = re.compile(
    r"\\\\"
    r"|\\!\s*"
    r"|(?P<delimiter_size>\\m?(?:left|right)(?=[^A-Za-z.\s]))"
    r"|(?P<styled_frac>\\[dtc]frac(?![A-Za-z]))"
    r"|\\[A-Za-z]+|\\."
)


def extract_answer(text: str, *, last_number: bool = True) -> tuple[str | None, str]:
    """The final answer of a solution and the method that found it (see the module docstring)."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed, "boxed"
    for match in reversed(list(_MARKER.finditer(text))):
        answer = _clean_prose(match.group(1))
        if answer:
            return answer, "answer_marker"
    phrase = _last_answer_phrase(text)
    if phrase is not None:
        return phrase, "answer_phrase"
    if last_number:
        numbers = _NUMBER.findall(text)
        if numbers:
            return numbers[-1].replace(",", ""), "last_number"
    return None, "none"


def last_boxed(text: str) -> str | None:
    """The content of the last non-empty ``\\boxed{...}``, ``\\boxed X`` or ``\\fbox{...}`` in `text`."""
    boxes = list(_BOXED.finditer(text))
    if not boxes:
        return None
    # Where each brace closes, in one pass: scanning from every box would be quadratic in the
    # degenerate outputs that repeat "\\boxed{\\boxed{..." until the token limit.
    closing: dict[int, int] = {}
    opened: list[int] = []
    for token in _BRACE_TOKEN.finditer(text, boxes[0].end()):
        if token.group() == "{":
            opened.append(token.start())
        elif token.group() == "}" and opened:
            closing[opened.pop()] = token.start()
    for box in reversed(boxes):
        content = _boxed_content(text, box.end(), closing)
        if content:
            return content
    return None


def _boxed_content(text: str, start: int, closing: dict[int, int]) -> str | None:
    """What follows a ``\\boxed`` command ending at `start`: a braced group (`closing` maps each opening
    brace to its closing one), or a bare token."""
    after = _AFTER_BOX.match(text, start)
    if after is None:
        return None
    if after.group("brace"):
        close_at = closing.get(after.start("brace"))
        return text[after.end() : close_at].strip() if close_at is not None else None
    return after.group("bare").strip()


def _braced_group(text: str, open_at: int) -> str | None:
    """The text inside the balanced braces opening at `open_at` (escaped braces do not count), or None."""
    depth = 0
    i = open_at
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
        i += 1
    return None


def _last_answer_phrase(text: str) -> str | None:
    """The answer after the last "the answer is" / "final answer is" / "final answer:" that has one."""
    for match in reversed(list(_PHRASE.finditer(text))):
        line_end = text.find("\n", match.end())
        line = text[match.end() : line_end if line_end != -1 else len(text)].lstrip(" \t*")
        span = _MATH_SPAN.search(line)
        if span:
            answer = (span.group(1) or span.group(2) or "").strip()
        else:
            end = _SENTENCE_END.search(line)
            answer = _clean_prose(line[: end.start()] if end else line)
        if answer:
            return answer
    return None


def _clean_prose(answer: str) -> str:
    """An answer cut from running text without markdown emphasis or closing punctuation."""
    answer = answer.replace("**", "").strip()
    return answer.rstrip(".").strip()


def is_plain_number(text: str) -> bool:
    """Whether `text` is a plain number (sign, thousands separators, decimals, ``\\$`` or ``%`` allowed)."""
    bare = re.sub(r"\\!|\{,\}|\\\$|\\%|[\s,$%]", "", text)
    return _PLAIN_NUMBER.fullmatch(bare) is not None


def normalise_answer(answer: str) -> str:
    """The answer without LaTeX layout that math-verify ignores anyway; the grader verifies this form.

    Unwraps math delimiters and an enclosing ``\\boxed{}``, and does what math-verify's own LaTeX
    normalisation does: drops ``\\!`` (with the space after it) and ``\\left``/``\\right`` before a
    delimiter, turns ``\\dfrac``/``\\tfrac``/``\\cfrac`` into ``\\frac``, a control space ``\\ `` and
    line breaks into spaces; then collapses runs of spaces and drops one trailing period. Everything
    else (units, ``\\text{}``, ``\\$``, thin spaces, case) is left for math-verify to judge.
    """
    text = answer.strip()
    while True:
        unwrapped = _unwrap(text)
        if unwrapped == text:
            break
        text = unwrapped
    text = _LAYOUT.sub(_layout_token, text)
    text = " ".join(text.split())
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    return text


def _layout_token(match: re.Match[str]) -> str:
    """The replacement of one backslash token in `normalise_answer` (``\\\\`` and other commands stay)."""
    token = match.group(0)
    if token.startswith("\\!"):
        return ""
    if token == "\\ ":
        return " "
    if match.group("delimiter_size"):
        return ""
    if match.group("styled_frac"):
        return "\\frac"
    return token


def _unwrap(text: str) -> str:
    """`text` without one enclosing pair of math delimiters or one enclosing ``\\boxed{}``/``\\fbox{}``."""
    for opening, closing in _DELIMITED:
        if len(text) > len(opening) + len(closing) and text.startswith(opening) and text.endswith(closing):
            inner = text[len(opening) : -len(closing)]
            if opening.startswith("$") and (_unescaped_dollar(inner) or inner.endswith("\\")):
                continue
            return inner.strip()
    boxed = _BOXED.match(text)
    if boxed:
        brace = text.find("{", boxed.end())
        if brace != -1 and not text[boxed.end() : brace].strip():
            group = _braced_group(text, brace)
            if group is not None and brace + len(group) + 2 == len(text):
                return group.strip()
    return text


def _unescaped_dollar(text: str) -> bool:
    """Whether `text` holds a ``$`` that is not written ``\\$``."""
    return re.search(r"(?<!\\)\$", text) is not None
