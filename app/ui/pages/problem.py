"""Problem: the statement (Markdown with LaTeX, code highlighted), the gold answer, each run's n, correct
and pass@k, the distinct answers with counts per run, and the samples filterable by run, verdict, answer.

State in the URL: `id`, `runs`, `run` (sample filter), `verdict`, `answer`, `page`.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from app.core.errors import AppError
from app.models import Verdict
from app.services import browse
from app.ui import store
from app.ui.components import error_notice, fmt_rate, labelled, loading, notice, page_header, run_chip
from app.ui.text import markdown_source
from app.ui.urlstate import as_choice, as_int, as_int_list, as_text, href, search_string

dash.register_page(__name__, path="/problem", title="Problem · Coverscope", name="Problem", order=3)

PAGE_SIZE = 20
NO_ANSWER = "\u2205 (no answer extracted)"
VERDICTS = [v.value for v in Verdict]


def _picker(benchmark_id: int | None) -> html.Div:
    """Empty state: how to get here, and a searchable list of problems."""
    with store.session() as session:
        benchmarks = browse.list_benchmarks(session=session)
        bench = next((b for b in benchmarks if b.id == benchmark_id), benchmarks[0] if benchmarks else None)
        items = (
            browse.list_problems(session=session, benchmark_id=bench.id, limit=browse.MAX_LIMIT).items
            if bench
            else []
        )
    if not bench:
        return html.Div(
            [page_header("Problem"), notice("No benchmark in this store yet: import or sample a run first.")]
        )
    return html.Div(
        [
            dcc.Location(id="problem-nav", refresh="callback-nav"),
            page_header("Problem", "Open a problem from the Coverage page, or choose one here."),
            dbc.Row(
                labelled(
                    f"Problem of {bench.name}",
                    dcc.Dropdown(
                        id="problem-pick",
                        options=[{"label": p.key, "value": p.id} for p in items],
                        placeholder="type to search problem keys",
                    ),
                    width=6,
                )
            ),
        ]
    )


def layout(
    id: str | None = None,
    runs: str | None = None,
    run: str | None = None,
    verdict: str | None = None,
    answer: str | None = None,
    page: str | None = None,
    **_: Any,
) -> html.Div:
    """The problem page for `?id=P&runs=1,2&run=1&verdict=correct&answer=7&page=0`."""
    problem_id = as_int(id)
    if problem_id is None:
        return _picker(None)
    run_ids = as_int_list(runs) or None
    try:
        with store.session() as session:
            detail = browse.get_problem(session=session, problem_id=problem_id, run_ids=run_ids)
            clusters = browse.answer_clusters(session=session, problem_id=problem_id, run_ids=run_ids)
    except AppError as exc:
        return html.Div(
            [page_header("Problem"), error_notice(exc), html.A("← all runs", href="/")],
            className="unknown-id",
        )
    shown_runs = [r.run_id for r in detail.runs]
    meta_badges = [
        dbc.Badge(f"{k}: {v}", color="light", text_color="dark", className="me-1 border")
        for k, v in detail.meta.items()
        if isinstance(v, (str, int, float))
    ]
    run_labels = {r.run_id: f"#{r.run_id} {r.model} ({r.kind})" for r in detail.runs}
    sample_run = as_int(run)
    sample_run = sample_run if sample_run in shown_runs else None
    return html.Div(
        [
            dcc.Location(id="problem-url", refresh=False),
            dcc.Location(id="problem-nav", refresh="callback-nav"),
            dcc.Store(id="problem-id", data=problem_id),
            dcc.Store(id="problem-runs", data=shown_runs if run_ids else None),
            page_header(
                detail.key,
                f"{detail.benchmark} · problem {detail.position + 1}",
                extra=html.Div(meta_badges),
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Card(
                                [
                                    dbc.CardHeader("Statement"),
                                    dbc.CardBody(
                                        dcc.Markdown(
                                            markdown_source(detail.statement)
                                            if detail.statement
                                            else "*(no statement stored)*",
                                            mathjax=True,
                                            className="statement markdown-body",
                                            id="problem-statement",
                                        )
                                    ),
                                ],
                                className="shadow-sm mb-3",
                            ),
                            dbc.Card(
                                [
                                    dbc.CardHeader("Gold answer"),
                                    dbc.CardBody(
                                        [
                                            html.Code(
                                                detail.answer or "–",
                                                className="gold-answer",
                                                id="problem-gold",
                                            ),
                                            html.Pre(detail.tests, className="mt-2 small")
                                            if detail.tests
                                            else None,
                                        ]
                                    ),
                                ],
                                className="shadow-sm mb-3",
                            ),
                        ],
                        lg=6,
                    ),
                    dbc.Col(
                        [
                            dbc.Card(
                                [
                                    dbc.CardHeader("Runs on this problem"),
                                    dbc.CardBody(_runs_table(detail), className="p-0"),
                                ],
                                className="shadow-sm mb-3",
                            ),
                            dbc.Card(
                                [
                                    dbc.CardHeader("Answers (distinct extracted answers, counts per run)"),
                                    dbc.CardBody(
                                        _clusters_table(clusters, detail, run_labels), className="p-0"
                                    ),
                                ],
                                className="shadow-sm mb-3",
                            ),
                        ],
                        lg=6,
                    ),
                ],
                className="g-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        dbc.Row(
                            [
                                dbc.Col(html.B("Samples"), md="auto", className="pt-1"),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="problem-run",
                                        value=sample_run,
                                        placeholder="every run",
                                        options=[{"label": run_labels[r], "value": r} for r in shown_runs],
                                    ),
                                    md=4,
                                ),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="problem-verdict",
                                        value=as_choice(verdict, VERDICTS),
                                        placeholder="any verdict",
                                        options=[{"label": v, "value": v} for v in VERDICTS],
                                    ),
                                    md=2,
                                ),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="problem-answer",
                                        value=as_text(answer),
                                        placeholder="any answer",
                                        options=[
                                            {"label": c.answer, "value": c.answer}
                                            for c in clusters
                                            if c.answer is not None
                                        ][:500],
                                    ),
                                    md=3,
                                ),
                            ],
                            className="g-2 align-items-center",
                        )
                    ),
                    dbc.CardBody(
                        [
                            loading(
                                dag.AgGrid(
                                    id="problem-samples",
                                    rowData=[],
                                    columnDefs=[
                                        {"field": "run", "headerName": "run", "width": 210},
                                        {"field": "idx", "headerName": "#", "width": 70},
                                        {"field": "verdict", "width": 110, "cellClass": "verdict-cell"},
                                        {"field": "answer", "flex": 1, "minWidth": 120},
                                        {"field": "num_tokens", "headerName": "tokens", "width": 100},
                                        {"field": "finish_reason", "headerName": "finish", "width": 100},
                                        {"field": "preview", "flex": 3, "minWidth": 240},
                                    ],
                                    getRowId="params.data.rid",
                                    defaultColDef={"resizable": True},
                                    dashGridOptions={"domLayout": "autoHeight", "rowClass": "clickable-row"},
                                    className="problem-samples",
                                    style={"width": "100%"},
                                )
                            ),
                            html.Div(
                                [
                                    dbc.Button(
                                        "← previous page",
                                        id="problem-prev-page",
                                        size="sm",
                                        color="secondary",
                                        outline=True,
                                    ),
                                    html.Span(id="problem-page-info", className="small text-muted"),
                                    dbc.Button(
                                        "next page →",
                                        id="problem-next-page",
                                        size="sm",
                                        color="secondary",
                                        outline=True,
                                    ),
                                ],
                                className="d-flex gap-3 align-items-center mt-2",
                            ),
                            dcc.Store(id="problem-page", data=as_int(page, 0, minimum=0)),
                        ],
                        className="p-2",
                    ),
                ],
                className="shadow-sm",
            ),
        ]
    )


def _runs_table(detail: browse.ProblemDetail) -> Any:
    if not detail.runs:
        return html.Div("No run has samples or counts on this problem.", className="p-3 text-muted")
    ks = sorted({k for r in detail.runs for k in r.pass_at_k})
    ks = [k for k in ks if k in (1, 4, 16, 64, 256)] + [
        k for k in ks if k == max(ks) and k not in (1, 4, 16, 64, 256)
    ]
    head = html.Tr(
        [
            html.Th("run"),
            html.Th("n", className="text-end"),
            html.Th("correct", className="text-end"),
            *[html.Th(f"pass@{k}", className="text-end") for k in ks],
        ]
    )
    body = [
        html.Tr(
            [
                html.Td(run_chip(r.run_id, f"#{r.run_id} {r.model} ({r.kind})")),
                html.Td(r.n, className="text-end"),
                html.Td(r.correct, className="text-end fw-semibold"),
                *[html.Td(fmt_rate(r.pass_at_k.get(k)), className="text-end") for k in ks],
            ],
            className="problem-run-row",
        )
        for r in detail.runs
    ]
    return dbc.Table(
        [html.Thead(head), html.Tbody(body)],
        size="sm",
        hover=True,
        className="mb-0",
        id="problem-runs-table",
        responsive=True,
    )


def _clusters_table(
    clusters: list[browse.AnswerCluster], detail: browse.ProblemDetail, labels: dict[int, str]
) -> Any:
    if not clusters:
        return html.Div("No samples stored for this problem.", className="p-3 text-muted")
    run_ids = [r.run_id for r in detail.runs]
    head = html.Tr(
        [
            html.Th("answer"),
            html.Th(""),
            *[html.Th(f"#{r}", className="text-end", title=labels[r]) for r in run_ids],
            html.Th("total", className="text-end"),
        ]
    )
    body = []
    for c in clusters[:30]:
        mark = "✓" if c.correct else "✗" if c.correct is False else "?"
        body.append(
            html.Tr(
                [
                    html.Td(
                        html.Code(c.answer) if c.answer is not None else html.I(NO_ANSWER),
                        className="cluster-answer",
                    ),
                    html.Td(mark, className="text-success fw-bold" if c.correct else "text-danger"),
                    *[html.Td(c.counts.get(r, 0), className="text-end") for r in run_ids],
                    html.Td(c.total, className="text-end fw-semibold"),
                ],
                className="cluster-row" + (" table-success" if c.correct else ""),
            )
        )
    more = (
        html.Div(f"… and {len(clusters) - 30} more distinct answers", className="small text-muted p-2")
        if len(clusters) > 30
        else None
    )
    return html.Div(
        [
            dbc.Table(
                [html.Thead(head), html.Tbody(body)],
                size="sm",
                hover=True,
                className="mb-0",
                id="problem-clusters",
                responsive=True,
            ),
            more,
        ]
    )


@callback(
    Output("problem-page", "data"),
    Input("problem-prev-page", "n_clicks"),
    Input("problem-next-page", "n_clicks"),
    Input("problem-run", "value"),
    Input("problem-verdict", "value"),
    Input("problem-answer", "value"),
    State("problem-page", "data"),
    prevent_initial_call=True,
)
def change_page(_prev, _next, _run, _verdict, _answer, page: int | None):
    """Page through the samples; a new filter starts again at the first page."""
    trigger = dash.ctx.triggered_id
    page = page or 0
    if trigger == "problem-next-page":
        return page + 1
    if trigger == "problem-prev-page":
        return max(0, page - 1)
    return 0


@callback(
    Output("problem-samples", "rowData"),
    Output("problem-page-info", "children"),
    Output("problem-prev-page", "disabled"),
    Output("problem-next-page", "disabled"),
    Output("problem-url", "search"),
    Input("problem-id", "data"),
    Input("problem-runs", "data"),
    Input("problem-run", "value"),
    Input("problem-verdict", "value"),
    Input("problem-answer", "value"),
    Input("problem-page", "data"),
    State("problem-run", "options"),
)
def list_samples(problem_id, runs, run, verdict, answer, page, run_options):
    """The samples of this problem that match the filters, one page at a time."""
    page = page or 0
    search = search_string(
        {
            "id": problem_id,
            "runs": runs or [],
            "run": run,
            "verdict": verdict,
            "answer": answer,
            "page": page or None,
        }
    )
    allowed = [o["value"] for o in run_options or []]
    labels = {o["value"]: o["label"] for o in run_options or []}
    try:
        with store.session() as session:
            if run is None and runs:
                items, total = [], 0
                for rid in allowed:
                    part = browse.list_samples(
                        session=session,
                        problem_id=problem_id,
                        run_id=rid,
                        verdict=verdict,
                        answer=answer,
                        offset=0,
                        limit=browse.MAX_LIMIT,
                    )
                    items += part.items
                    total += part.total
                items = items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
            else:
                result = browse.list_samples(
                    session=session,
                    problem_id=problem_id,
                    run_id=run,
                    verdict=verdict,
                    answer=answer,
                    offset=page * PAGE_SIZE,
                    limit=PAGE_SIZE,
                )
                items, total = result.items, result.total
    except AppError as exc:
        return [], str(exc), True, True, search
    rows = [
        {
            "id": s.id,
            "rid": str(s.id),
            "run": labels.get(s.run_id, f"#{s.run_id}"),
            "run_id": s.run_id,
            "idx": s.idx,
            "verdict": s.verdict,
            "answer": s.answer,
            "num_tokens": s.num_tokens,
            "finish_reason": s.finish_reason,
            "preview": s.preview.replace("\n", " ")[:160],
        }
        for s in items
    ]
    first = page * PAGE_SIZE + 1 if rows else 0
    info = f"samples {first}–{page * PAGE_SIZE + len(rows)} of {total} · click one to read its trace"
    return rows, info, page == 0, (page + 1) * PAGE_SIZE >= total, search


@callback(
    Output("problem-nav", "href"),
    Input("problem-samples", "cellClicked"),
    State("problem-samples", "rowData"),
    State("problem-runs", "data"),
    State("problem-id", "data"),
    prevent_initial_call=True,
)
def open_trace(cell: dict | None, rows: list[dict] | None, runs: list[int] | None, problem_id: int):
    """Open the clicked sample's trace (beside the first sample of another chosen run, if any)."""
    if not cell or cell.get("rowId") is None:
        return dash.no_update
    sample_id = int(cell["rowId"])
    row = next((r for r in rows or [] if r["id"] == sample_id), None)
    vs = None
    if row and runs:
        other = [r for r in runs if r != row["run_id"]]
        if other:
            with store.session() as session:
                found = browse.list_samples(
                    session=session, problem_id=problem_id, run_id=other[0], limit=1
                ).items
            vs = found[0].id if found else None
    return href("/trace", {"sample": sample_id, "vs": vs})


@callback(
    Output("problem-nav", "href", allow_duplicate=True),
    Input("problem-pick", "value"),
    prevent_initial_call=True,
)
def pick_problem(problem_id: int | None):
    """Open the problem chosen in the empty state's picker."""
    return href("/problem", {"id": problem_id}) if problem_id is not None else dash.no_update
