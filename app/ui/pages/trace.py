"""Trace: one sample in full (rendered and raw, extracted answer highlighted), its verdict, tokens and
finish reason; optionally beside another sample of the same problem; an annotation form; previous/next
with the keyboard (j / k or the arrow keys).

Model output is untrusted: it is shown as Markdown without HTML, or as plain text, never as raw HTML.
State in the URL: `sample`, `vs`, `view` (rendered | raw).
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from app.core.errors import AppError
from app.models import AnnotationLabel
from app.services import browse
from app.ui import store
from app.ui.components import error_notice, key_value_list, notice, page_header, run_chip, verdict_badge
from app.ui.text import highlighted_text, markdown_source
from app.ui.urlstate import as_choice, as_int, href, search_string

dash.register_page(__name__, path="/trace", title="Trace · Coverscope", name="Trace", order=4)

VIEWS = ("rendered", "raw")
LABELS = {
    AnnotationLabel.valid_reasoning.value: "valid reasoning",
    AnnotationLabel.flawed_reasoning.value: "flawed reasoning",
    AnnotationLabel.lucky_guess.value: "lucky guess",
    AnnotationLabel.other.value: "other",
}
COMPARE_LIMIT = 200


def _panel(detail: browse.SampleDetail, view: str, *, slot: str) -> dbc.Card:
    """One trace with its facts."""
    body = (
        dcc.Markdown(
            markdown_source(detail.text),
            mathjax=True,
            className="trace-rendered markdown-body",
            id=f"trace-text-{slot}",
            link_target="_blank",
        )
        if view == "rendered"
        else html.Pre(
            highlighted_text(detail.text, detail.answer), className="trace-raw", id=f"trace-text-{slot}"
        )
    )
    answer = (
        html.Mark(detail.answer, className="answer-mark") if detail.answer is not None else html.I("none")
    )
    facts = key_value_list(
        [
            ("verdict", verdict_badge(detail.verdict)),
            ("extracted answer", answer),
            ("gold answer", html.Code(detail.gold_answer) if detail.gold_answer is not None else None),
            ("tokens", f"{detail.num_tokens:,}" if detail.num_tokens is not None else None),
            ("finish reason", detail.finish_reason),
        ]
    )
    return dbc.Card(
        [
            dbc.CardHeader(
                html.Div(
                    [
                        run_chip(detail.run_id, f"#{detail.run_id} {detail.model} ({detail.kind})"),
                        html.Span(f"sample {detail.idx}", className="text-muted small"),
                        html.A(
                            "open alone",
                            href=href("/trace", {"sample": detail.id, "view": view}),
                            className="small ms-auto",
                        )
                        if slot == "b"
                        else None,
                    ],
                    className="d-flex gap-2 align-items-center",
                )
            ),
            dbc.CardBody([facts, html.Hr(className="my-2"), body]),
        ],
        className=f"shadow-sm trace-panel trace-panel-{slot}",
        id=f"trace-panel-{slot}",
    )


def _compare_options(session, detail: browse.SampleDetail) -> list[dict[str, Any]]:
    """Samples of other runs on the same problem, to put beside this one."""
    options = []
    problem = browse.get_problem(session=session, problem_id=detail.problem_id)
    for run in problem.runs:
        if run.run_id == detail.run_id:
            continue
        page = browse.list_samples(
            session=session, problem_id=detail.problem_id, run_id=run.run_id, limit=COMPARE_LIMIT
        )
        for s in page.items:
            answer = s.answer if s.answer is None or len(s.answer) <= 24 else s.answer[:23] + "…"
            options.append(
                {
                    "label": f"#{run.run_id} {run.model} · sample {s.idx} · {s.verdict} · {answer}",
                    "value": s.id,
                }
            )
    return options


def _annotations(rows: list[browse.AnnotationRow]) -> Any:
    if not rows:
        return html.Div("No annotations yet.", className="text-muted small", id="trace-annotations")
    return html.Ul(
        [
            html.Li(
                [
                    dbc.Badge(LABELS.get(a.label, a.label), color="info", className="me-2"),
                    html.Span(a.note or "", className="annotation-note"),
                    html.Span(f" — {a.author}" if a.author else "", className="text-muted"),
                    html.Span(f" · {a.created_at:%Y-%m-%d %H:%M}", className="text-muted small"),
                ],
                className="mb-1",
            )
            for a in rows
        ],
        className="list-unstyled small mb-0",
        id="trace-annotations",
    )


def _no_sample() -> html.Div:
    with store.session() as session:
        first = browse.list_samples(session=session, limit=1).items
    hint = (
        html.Span(
            [
                "Open one from a problem's sample list, or start with ",
                dcc.Link(f"sample {first[0].id}", href=href("/trace", {"sample": first[0].id})),
                ".",
            ]
        )
        if first
        else "There are no samples in this store yet: import a run with samples or run the worker."
    )
    return html.Div([page_header("Trace"), notice(hint)])


def layout(sample: str | None = None, vs: str | None = None, view: str | None = None, **_: Any) -> html.Div:
    """The trace page for `?sample=S&vs=T&view=rendered`."""
    sample_id = as_int(sample)
    if sample_id is None:
        return _no_sample()
    chosen_view = as_choice(view, VIEWS, "rendered")
    vs_id = as_int(vs)
    warnings = []
    try:
        with store.session() as session:
            detail = browse.get_sample(session=session, sample_id=sample_id)
            other = None
            if vs_id is not None:
                try:
                    other = browse.get_sample(session=session, sample_id=vs_id)
                except AppError as exc:
                    warnings.append(error_notice(exc))
            options = _compare_options(session, detail)
    except AppError as exc:
        return html.Div(
            [page_header("Trace"), error_notice(exc), html.A("← all runs", href="/")], className="unknown-id"
        )
    nav_params = {"view": chosen_view if chosen_view != "rendered" else None}
    prev_link = (
        dcc.Link(
            "← previous",
            href=href("/trace", {"sample": detail.previous_id, **nav_params}),
            id="trace-prev",
            className="btn btn-outline-secondary btn-sm",
        )
        if detail.previous_id is not None
        else html.Span("← previous", className="btn btn-outline-secondary btn-sm disabled", id="trace-prev")
    )
    next_link = (
        dcc.Link(
            "next →",
            href=href("/trace", {"sample": detail.next_id, **nav_params}),
            id="trace-next",
            className="btn btn-outline-secondary btn-sm",
        )
        if detail.next_id is not None
        else html.Span("next →", className="btn btn-outline-secondary btn-sm disabled", id="trace-next")
    )
    panels = [dbc.Col(_panel(detail, chosen_view, slot="a"), lg=6 if other else 12)]
    if other:
        panels.append(dbc.Col(_panel(other, chosen_view, slot="b"), lg=6))
    return html.Div(
        [
            dcc.Location(id="trace-url", refresh=False),
            dcc.Store(id="trace-sample", data=detail.id),
            html.Div(id="trace-keys", hidden=True),
            page_header(
                f"Sample {detail.id}",
                f"{detail.benchmark} · problem {detail.problem_key} · sample {detail.idx} of run "
                f"#{detail.run_id}",
                extra=[
                    dcc.Link(
                        "problem →",
                        href=href(
                            "/problem",
                            {
                                "id": detail.problem_id,
                                "runs": [detail.run_id] + ([other.run_id] if other else []),
                            },
                        ),
                        className="btn btn-link btn-sm",
                        id="trace-problem-link",
                    ),
                    prev_link,
                    next_link,
                    html.Span("keys: j / k or → / ←", className="text-muted small d-none d-md-inline"),
                ],
            ),
            *warnings,
            dbc.Row(
                [
                    dbc.Col(
                        dbc.RadioItems(
                            id="trace-view",
                            options=[
                                {"label": "Rendered (Markdown + LaTeX)", "value": "rendered"},
                                {"label": "Raw text", "value": "raw"},
                            ],
                            value=chosen_view,
                            inline=True,
                        ),
                        md="auto",
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id="trace-vs",
                            options=options,
                            value=other.id if other else None,
                            placeholder="put a sample of another run on this problem beside it"
                            if options
                            else "no other run has samples on this problem",
                            disabled=not options,
                        ),
                        md=6,
                    ),
                ],
                className="g-3 mb-3 align-items-center",
            ),
            dbc.Row(panels, className="g-3 mb-3", id="trace-panels"),
            dbc.Card(
                [
                    dbc.CardHeader("Annotate this trace"),
                    dbc.CardBody(
                        [
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dbc.RadioItems(
                                            id="trace-label",
                                            options=[
                                                {"label": text, "value": value}
                                                for value, text in LABELS.items()
                                            ],
                                            inline=True,
                                        ),
                                        md=12,
                                        className="mb-2",
                                    ),
                                    dbc.Col(
                                        dbc.Textarea(id="trace-note", placeholder="note (optional)", rows=2),
                                        md=7,
                                    ),
                                    dbc.Col(
                                        dbc.Input(
                                            id="trace-author",
                                            placeholder="your name (optional)",
                                            maxLength=200,
                                        ),
                                        md=3,
                                    ),
                                    dbc.Col(
                                        dbc.Button(
                                            "Save", id="trace-save", color="primary", className="w-100"
                                        ),
                                        md=2,
                                    ),
                                ],
                                className="g-2",
                            ),
                            html.Div(id="trace-save-status", className="small mt-2"),
                            html.Hr(),
                            html.Div(_annotations(detail.annotations), id="trace-annotation-list"),
                        ]
                    ),
                ],
                className="shadow-sm",
            ),
        ]
    )


@callback(
    Output("trace-url", "search"),
    Output("trace-panels", "children"),
    Input("trace-view", "value"),
    Input("trace-vs", "value"),
    State("trace-sample", "data"),
    prevent_initial_call=True,
)
def change_view(view: str, vs: int | None, sample_id: int):
    """Switch rendered/raw and the trace beside this one, keeping the URL in step."""
    view = view if view in VIEWS else "rendered"
    search = search_string({"sample": sample_id, "vs": vs, "view": view if view != "rendered" else None})
    try:
        with store.session() as session:
            detail = browse.get_sample(session=session, sample_id=sample_id)
            other = browse.get_sample(session=session, sample_id=vs) if vs is not None else None
    except AppError as exc:
        return search, [dbc.Col(error_notice(exc))]
    panels = [dbc.Col(_panel(detail, view, slot="a"), lg=6 if other else 12)]
    if other:
        panels.append(dbc.Col(_panel(other, view, slot="b"), lg=6))
    return search, panels


@callback(
    Output("trace-save-status", "children"),
    Output("trace-annotation-list", "children"),
    Input("trace-save", "n_clicks"),
    State("trace-sample", "data"),
    State("trace-label", "value"),
    State("trace-note", "value"),
    State("trace-author", "value"),
    prevent_initial_call=True,
)
def save_annotation(
    _clicks: int | None, sample_id: int, label: str | None, note: str | None, author: str | None
):
    """Store the annotation and show the sample's annotations."""
    if not label:
        return html.Span("Choose a label first.", className="text-danger"), dash.no_update
    try:
        with store.session() as session:
            browse.annotate(
                session=session,
                sample_id=sample_id,
                label=label,
                note=(note or "").strip() or None,
                author=(author or "").strip() or None,
            )
            rows = browse.list_annotations(session=session, sample_id=sample_id, limit=browse.MAX_LIMIT).items
    except AppError as exc:
        return html.Span(exc.message, className="text-danger"), dash.no_update
    return html.Span(f"Saved as “{LABELS[label]}”.", className="text-success"), _annotations(rows)


# Keyboard navigation: installed once per page load, independent of the static assets.
clientside_callback(
    """function(id) {
        if (!window.__coverscopeTraceKeys) {
            window.__coverscopeTraceKeys = true;
            document.addEventListener("keydown", function (event) {
                if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
                var target = event.target;
                var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
                if (/^(input|textarea|select)$/.test(tag) || (target && target.isContentEditable)) {
                    return;
                }
                var which = null;
                if (event.key === "j" || event.key === "ArrowRight") { which = "trace-next"; }
                if (event.key === "k" || event.key === "ArrowLeft") { which = "trace-prev"; }
                var link = which && document.getElementById(which);
                if (link && link.tagName.toLowerCase() === "a") { event.preventDefault(); link.click(); }
            });
        }
        return "";
    }""",
    Output("trace-keys", "children"),
    Input("trace-keys", "id"),
)
