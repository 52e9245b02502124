"""Model output made safe and readable: Markdown source without raw HTML, raw text with the answer marked.

dcc.Markdown (react-markdown with `escapeHtml`, links through a URI sanitiser) shows HTML in its source as
text as long as `dangerously_allow_html` stays off, which it does everywhere in this package; plain
strings given to Dash components are always text nodes.
"""

from __future__ import annotations

from dash import html

MAX_RENDERED_CHARS = 200_000


def markdown_source(text: str | None) -> str:
    """The Markdown a trace is rendered from: the text itself (HTML in it stays text), bounded in size.

    Markdown images are escaped to text: a model-written `![](https://...)` must not make the reader's
    browser fetch anything.
    """
    if not text:
        return "*(empty trace)*"
    if len(text) > MAX_RENDERED_CHARS:
        text = text[:MAX_RENDERED_CHARS] + "\n\n*(… cut here; the raw view shows the whole trace)*"
    return text.replace("![", "!\\[")


def answer_span(text: str, answer: str | None) -> tuple[int, int] | None:
    """Where the extracted answer stands in the text: its last occurrence (answers come at the end)."""
    if not text or not answer:
        return None
    start = text.rfind(answer)
    if start < 0:
        stripped = answer.strip()
        start = text.rfind(stripped) if stripped else -1
        if start < 0:
            return None
        return start, start + len(stripped)
    return start, start + len(answer)


def highlighted_text(text: str | None, answer: str | None) -> list:
    """The raw trace as Dash children with the extracted answer wrapped in a <mark> (all of it text)."""
    text = text or ""
    span = answer_span(text, answer)
    if span is None:
        return [text]
    start, end = span
    return [text[:start], html.Mark(text[start:end], className="answer-mark"), text[end:]]
