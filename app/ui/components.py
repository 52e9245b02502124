"""Small building blocks shared by the dashboard's pages: headers, notices, run pickers, formatting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from app.core.errors import AppError
from app.ui.figures import run_color

VERDICT_COLOURS = {
    "correct": "success",
    "incorrect": "danger",
    "timeout": "warning",
    "error": "warning",
    "ungraded": "secondary",
}

GETTING_STARTED = [
    html.P("There are no runs in this store yet. Put some in with one of:", className="mb-2"),
    html.Pre(
        "coverscope import samples results.jsonl            # our own format (see docs/import-formats.md)\n"
        "coverscope import math-eval out.jsonl --model Qwen/Qwen2.5-7B --benchmark math500 --kind base\n"
        "coverscope enqueue --model Qwen/Qwen2.5-7B --benchmark math500 --n 256 && coverscope worker",
        className="mb-2 small",
    ),
    html.P(
        [
            "Then reload this page. Runs of the same benchmark can be plotted together (",
            html.B("Curves"),
            ") and compared problem by problem (",
            html.B("Coverage"),
            ").",
        ],
        className="mb-0",
    ),
]


def page_header(title: str, subtitle: str | None = None, *, extra: Any = None) -> html.Div:
    """The title row of a page."""
    return html.Div(
        [
            html.Div(
                [html.H2(title, className="h4 mb-0"), html.Div(subtitle, className="text-muted small")]
                if subtitle
                else [html.H2(title, className="h4 mb-0")]
            ),
            html.Div(extra, className="ms-auto d-flex gap-2 align-items-center")
            if extra is not None
            else None,
        ],
        className="d-flex flex-wrap align-items-end gap-3 mb-3 page-header",
    )


def notice(children: Any, *, color: str = "info", id: str | None = None) -> dbc.Alert:
    """A boxed message (empty states, hints)."""
    kwargs = {"id": id} if id else {}
    return dbc.Alert(children, color=color, className="mb-3", **kwargs)


def error_notice(exc: Exception) -> dbc.Alert:
    """An application error as a person-readable warning (unknown ids, invalid choices)."""
    message = exc.message if isinstance(exc, AppError) else f"{type(exc).__name__}: {exc}"
    return dbc.Alert(message, color="warning", className="mb-3 error-notice")


def no_runs_notice() -> dbc.Alert:
    """The empty state of a store without runs: what to run to fill it."""
    return dbc.Alert(GETTING_STARTED, color="info", className="mb-3 empty-state")


def run_option(run: Any) -> dict[str, Any]:
    """A dropdown option for a run overview row."""
    status = "" if run.status == "done" else f" · {run.status}"
    return {
        "label": f"#{run.id} {run.model} ({run.kind}) · n={run.n}{status}",
        "value": run.id,
    }


def run_chip(run_id: int, text: str) -> html.Span:
    """A run name with its colour swatch."""
    return html.Span(
        [html.Span(className="run-swatch", style={"backgroundColor": run_color(run_id)}), text],
        className="run-chip",
    )


def verdict_badge(verdict: str) -> dbc.Badge:
    """A coloured badge for a sample verdict."""
    return dbc.Badge(verdict, color=VERDICT_COLOURS.get(verdict, "secondary"), className="verdict")


def fmt_rate(value: float | None, digits: int = 1) -> str:
    """A rate as a percentage, or an en dash when unknown."""
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def loading(children: Any, *, id: str | None = None) -> dcc.Loading:
    """A loading indicator around content that a callback fills."""
    kwargs = {"id": id} if id else {}
    return dcc.Loading(children, type="dot", delay_show=150, color="#2c3e50", **kwargs)


def labelled(label: str, control: Any, *, width: int | None = None, help: str | None = None) -> dbc.Col:
    """A control with its label above (and an optional hint below), as a grid column."""
    body = [dbc.Label(label, className="form-label small text-muted mb-1"), control]
    if help:
        body.append(html.Div(help, className="form-text"))
    return dbc.Col(body, md=width) if width else dbc.Col(body, md=True)


def key_value_list(pairs: Sequence[tuple[str, Any]]) -> html.Dl:
    """A compact definition list."""
    items: list[Any] = []
    for key, value in pairs:
        items.append(html.Dt(key, className="col-sm-4 text-muted fw-normal"))
        items.append(html.Dd(value if value not in (None, "") else "–", className="col-sm-8 mb-1"))
    return html.Dl(items, className="row small mb-0")
