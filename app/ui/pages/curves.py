"""Curves: pass@k of chosen runs on a log2 k axis with bootstrap bands, the difference B - A with its
simultaneous band, facets by metadata, a table at one k, and downloads.

State in the URL: `benchmark`, `runs`, `a`, `b`, `k`, `facet`.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from app.core.errors import AppError
from app.services import analysis, browse, views
from app.ui import store
from app.ui.choices import clamp_k, default_pair, facet_keys
from app.ui.components import (
    error_notice,
    fmt_rate,
    labelled,
    loading,
    no_runs_notice,
    notice,
    page_header,
    run_chip,
    run_option,
)
from app.ui.figures import curves_csv, curves_figure, difference_figure, empty_figure, facet_figure, run_label
from app.ui.urlstate import as_int, as_int_list, as_text, href, search_string

dash.register_page(__name__, path="/curves", title="Curves · Coverscope", name="Curves", order=1)

CONFIDENCE = 0.95
BOOTSTRAP = 1000
DIFFERENCE_BOOTSTRAP = 1000
GRAPH_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "filename": "coverscope-curves", "scale": 2},
    "modeBarButtonsToRemove": ["select2d", "lasso2d"],
}


def default_runs(runs: list[views.RunOverview], limit: int = 4) -> list[int]:
    """The runs plotted when none are named: finished ones first, oldest first, at most `limit`."""
    done = [r for r in runs if r.status == "done"]
    return [r.id for r in sorted(done or runs, key=lambda r: r.id)[:limit]]


def _runs_of(session, benchmark_id: int | None) -> list[views.RunOverview]:
    runs = views.run_overview(session=session)
    return [r for r in runs if benchmark_id is None or r.benchmark_id == benchmark_id]


def layout(
    benchmark: str | None = None,
    runs: str | None = None,
    a: str | None = None,
    b: str | None = None,
    k: str | None = None,
    facet: str | None = None,
    **_: Any,
) -> html.Div:
    """The curves page for `?benchmark=ID&runs=1,2&a=1&b=2&k=8&facet=subject`."""
    run_ids = as_int_list(runs)
    benchmark_id = as_int(benchmark)
    with store.session() as session:
        everything = views.run_overview(session=session)
        if not everything:
            return html.Div([page_header("pass@k curves"), no_runs_notice()])
        by_id = {r.id: r for r in everything}
        if benchmark_id is None:
            known = [by_id[r] for r in run_ids if r in by_id]
            benchmark_id = known[0].benchmark_id if known else everything[0].benchmark_id
        benchmarks = [
            bm
            for bm in browse.list_benchmarks(session=session)
            if any(r.benchmark_id == bm.id for r in everything)
        ]
        on_bench = [r for r in everything if r.benchmark_id == benchmark_id and r.problems > 0]
        unknown = [r for r in run_ids if r not in by_id]
        if not run_ids:
            run_ids = default_runs(on_bench)
        run_ids = [r for r in run_ids if r in by_id and by_id[r].benchmark_id == benchmark_id]
        facets = (
            facet_keys(browse.meta_facets(session=session, benchmark_id=benchmark_id)) if benchmark_id else []
        )
    rows = [{"id": r, "kind": by_id[r].kind} for r in run_ids]
    pair = default_pair(rows, as_int(a), as_int(b))
    max_k = min((by_id[r].n for r in run_ids), default=1)
    chosen_k = clamp_k(as_int(k, minimum=1), max_k, default=min(8, max_k))
    chosen_facet = as_text(facet) if as_text(facet) in facets else None
    run_options = [run_option(r) for r in on_bench]
    warnings = [notice(f"run {r!r} not found; showing the others", color="warning") for r in unknown]
    return html.Div(
        [
            dcc.Location(id="curves-url", refresh=False),
            dcc.Download(id="curves-download"),
            html.Div(id="curves-dummy", hidden=True),
            page_header(
                "pass@k curves",
                "Unbiased pass@k for k = 1 … n with 95% percentile-bootstrap bands over problems.",
                extra=[
                    dbc.Button("PNG", id="curves-png", size="sm", color="secondary", outline=True),
                    dbc.Button("SVG", id="curves-svg", size="sm", color="secondary", outline=True),
                    dbc.Button("CSV", id="curves-csv", size="sm", color="secondary", outline=True),
                ],
            ),
            *warnings,
            dbc.Row(
                [
                    labelled(
                        "Benchmark",
                        dcc.Dropdown(
                            id="curves-benchmark",
                            options=[{"label": bm.name, "value": bm.id} for bm in benchmarks],
                            value=benchmark_id,
                            clearable=False,
                        ),
                        width=3,
                    ),
                    labelled(
                        "Runs",
                        dcc.Dropdown(
                            id="curves-runs",
                            options=run_options,
                            value=run_ids,
                            multi=True,
                            placeholder="pick runs to plot",
                        ),
                        width=5,
                    ),
                    labelled(
                        "Facet by",
                        dcc.Dropdown(
                            id="curves-facet",
                            options=[{"label": key, "value": key} for key in facets],
                            value=chosen_facet,
                            placeholder="no facets" if facets else "no metadata to facet by",
                            disabled=not facets,
                        ),
                        width=2,
                    ),
                    labelled(
                        "k for the table",
                        dbc.Input(
                            id="curves-k",
                            type="number",
                            min=1,
                            max=max_k,
                            step=1,
                            value=chosen_k,
                            debounce=True,
                        ),
                        width=2,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Card(
                            dbc.CardBody(
                                loading(
                                    dcc.Graph(
                                        id="curves-graph",
                                        config=GRAPH_CONFIG,
                                        figure=empty_figure("loading …"),
                                    )
                                )
                            ),
                            className="shadow-sm",
                        ),
                        xl=8,
                    ),
                    dbc.Col(
                        dbc.Card(
                            [
                                dbc.CardHeader(html.Span(id="curves-table-title")),
                                dbc.CardBody(loading(html.Div(id="curves-table")), className="p-0"),
                            ],
                            className="shadow-sm h-100",
                        ),
                        xl=4,
                    ),
                ],
                className="g-3 mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader(
                        dbc.Row(
                            [
                                dbc.Col(html.B("Difference B − A"), md="auto", className="pt-1"),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="curves-a",
                                        options=[],
                                        value=pair[0],
                                        clearable=False,
                                        placeholder="A",
                                    ),
                                    md=4,
                                ),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id="curves-b",
                                        options=[],
                                        value=pair[1],
                                        clearable=False,
                                        placeholder="B",
                                    ),
                                    md=4,
                                ),
                                dbc.Col(
                                    html.A(
                                        "open coverage →",
                                        id="curves-coverage-link",
                                        href="/coverage",
                                        className="small",
                                    ),
                                    md="auto",
                                    className="pt-1",
                                ),
                            ],
                            className="g-2 align-items-center",
                        )
                    ),
                    dbc.CardBody(loading(html.Div(id="curves-difference"))),
                ],
                className="shadow-sm mb-3",
            ),
            dbc.Card(
                [dbc.CardHeader("Per metadata value"), dbc.CardBody(loading(html.Div(id="curves-facets")))],
                className="shadow-sm",
            ),
            dcc.Store(id="curves-data"),
        ]
    )


@callback(
    Output("curves-runs", "options"),
    Output("curves-runs", "value"),
    Output("curves-facet", "options"),
    Output("curves-facet", "disabled"),
    Input("curves-benchmark", "value"),
    State("curves-runs", "value"),
    prevent_initial_call=True,
)
def benchmark_changed(benchmark_id: int | None, current: list[int] | None):
    """Offer the runs and facets of the chosen benchmark."""
    with store.session() as session:
        runs = [r for r in _runs_of(session, benchmark_id) if r.problems > 0]
        facets = (
            facet_keys(browse.meta_facets(session=session, benchmark_id=benchmark_id)) if benchmark_id else []
        )
    ids = {r.id for r in runs}
    keep = [r for r in (current or []) if r in ids] or default_runs(runs)
    return [run_option(r) for r in runs], keep, [{"label": f, "value": f} for f in facets], not facets


@callback(
    Output("curves-a", "options"),
    Output("curves-b", "options"),
    Output("curves-a", "value"),
    Output("curves-b", "value"),
    Input("curves-runs", "value"),
    State("curves-runs", "options"),
    State("curves-a", "value"),
    State("curves-b", "value"),
)
def runs_changed(run_ids: list[int] | None, options: list[dict] | None, a: int | None, b: int | None):
    """A and B are two of the plotted runs (a base run as A by default)."""
    run_ids = run_ids or []
    labels = {o["value"]: o["label"] for o in options or []}
    kinds = {o["value"]: ("base" if "(base)" in o["label"] else "") for o in options or []}
    pair = default_pair([{"id": r, "kind": kinds.get(r, "")} for r in run_ids], a, b)
    opts = [{"label": labels.get(r, f"#{r}"), "value": r} for r in run_ids]
    return opts, opts, pair[0], pair[1]


@callback(
    Output("curves-data", "data"),
    Output("curves-graph", "figure"),
    Input("curves-runs", "value"),
)
def draw_curves(run_ids: list[int] | None):
    """Compute the curves (with bands) and draw them."""
    if not run_ids:
        return None, empty_figure("Pick one or more runs above.")
    try:
        with store.session() as session:
            result = analysis.curves(
                session=session, run_ids=list(run_ids), ci=True, bootstrap=BOOTSTRAP, confidence=CONFIDENCE
            )
    except AppError as exc:
        return None, empty_figure(exc.message)
    return result["runs"], curves_figure(result["runs"], confidence=CONFIDENCE)


@callback(
    Output("curves-table", "children"),
    Output("curves-table-title", "children"),
    Output("curves-k", "max"),
    Input("curves-data", "data"),
    Input("curves-k", "value"),
)
def table_at_k(runs: list[dict] | None, k: Any):
    """pass@k with its interval for every plotted run at the chosen k."""
    if not runs:
        return notice("No curves to tabulate yet.", color="light"), "pass@k", 1
    max_k = min(max(r["ks"]) for r in runs)
    k = clamp_k(as_int(k, minimum=1), max_k, default=min(8, max_k))
    rows = []
    for run in runs:
        i = run["ks"].index(k) if k in run["ks"] else None
        value = run["pass_at_k"][i] if i is not None else None
        lo = run["lower"][i] if i is not None and run.get("lower") else None
        hi = run["upper"][i] if i is not None and run.get("upper") else None
        rows.append(
            html.Tr(
                [
                    html.Td(run_chip(run["run_id"], run_label(run))),
                    html.Td(fmt_rate(value), className="text-end fw-semibold"),
                    html.Td(f"[{fmt_rate(lo)}, {fmt_rate(hi)}]", className="text-end text-muted small"),
                    html.Td(f"{run['problems']}", className="text-end small"),
                ],
                className="curves-row",
            )
        )
    table = dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th("run"),
                        html.Th(f"pass@{k}", className="text-end"),
                        html.Th("95% CI", className="text-end"),
                        html.Th("problems", className="text-end"),
                    ]
                )
            ),
            html.Tbody(rows),
        ],
        hover=True,
        size="sm",
        className="mb-0 curves-table",
        id="curves-table-at-k",
    )
    return table, f"pass@{k} of each run", max_k


@callback(
    Output("curves-difference", "children"),
    Output("curves-coverage-link", "href"),
    Input("curves-a", "value"),
    Input("curves-b", "value"),
    Input("curves-k", "value"),
)
def draw_difference(a: int | None, b: int | None, k: Any):
    """The simultaneous band of pass@k(B) - pass@k(A) over k with the ranges where B is better/worse."""
    if a is None or b is None or a == b:
        return notice(
            "Plot two runs of the same benchmark to see their difference.", color="light"
        ), "/coverage"
    try:
        with store.session() as session:
            max_k = min(views_n(session, a), views_n(session, b))
            kk = clamp_k(as_int(k, minimum=1), max_k, default=min(8, max_k))
            result = analysis.compare(session=session, a=a, b=b, k=kk, bootstrap=DIFFERENCE_BOOTSTRAP)
    except AppError as exc:
        return error_notice(exc), "/coverage"
    link = href("/coverage", {"a": a, "b": b, "k": kk})
    diff = result["difference"]
    if diff is None:
        return notice("A difference band needs at least two problems in common.", color="light"), link
    figure = difference_figure(diff, a_label=run_label(result["a"]), b_label=run_label(result["b"]))
    summary = _difference_summary(diff)
    return [dcc.Graph(id="curves-diff-graph", figure=figure, config=GRAPH_CONFIG), summary], link


def views_n(session, run_id: int) -> int:
    """The smallest n of a run (the largest k its curve reaches)."""
    from app.services.runs import run_counts

    return int(run_counts(session=session, run_id=run_id).n.min())


def _ranges(ks: list[int]) -> str:
    from app.ui.figures import contiguous_ranges

    if not ks:
        return "none"
    grid = list(range(1, max(ks) + 1))
    return ", ".join(f"{lo}" if lo == hi else f"{lo}–{hi}" for lo, hi in contiguous_ranges(grid, ks))


def _difference_summary(diff: dict[str, Any]) -> html.Div:
    level = f"{1 - diff['alpha']:.0%}"
    crossing = diff.get("first_loss_interval")
    parts = [
        html.Span(["B better at k ", html.B(_ranges(diff["b_better"]))], className="me-3 text-success"),
        html.Span(["B worse at k ", html.B(_ranges(diff["b_worse"]))], className="me-3 text-danger"),
        html.Span(["undetermined at k ", html.B(_ranges(diff["undetermined"]))], className="me-3 text-muted"),
    ]
    if crossing and crossing[1] is not None:
        parts.append(
            html.Span(
                f"first certified loss of B between k={crossing[0]} and k={crossing[1]}", className="me-3"
            )
        )
    return html.Div(
        [
            html.Div(parts, className="small"),
            html.Div(
                f"{level} simultaneous band over all k ({diff['method']}; {diff['bootstrap']} draws).",
                className="text-muted small",
            ),
        ],
        className="mt-2 difference-summary",
    )


@callback(
    Output("curves-facets", "children"),
    Input("curves-runs", "value"),
    Input("curves-facet", "value"),
)
def draw_facets(run_ids: list[int] | None, facet: str | None):
    """Small multiples of the curves per value of a metadata key."""
    if not facet:
        return html.Div(
            "Choose a metadata key under “Facet by” to split the curves by it.", className="text-muted small"
        )
    if not run_ids:
        return None
    try:
        with store.session() as session:
            facets = views.faceted_curves(session=session, run_ids=list(run_ids), facet=facet)
    except AppError as exc:
        return error_notice(exc)
    if not facets:
        return notice(f"No problem of these runs has a value for {facet!r}.", color="light")
    return dcc.Graph(
        id="curves-facet-graph", figure=facet_figure(facets, facet_key=facet), config=GRAPH_CONFIG
    )


@callback(
    Output("curves-url", "search"),
    Input("curves-benchmark", "value"),
    Input("curves-runs", "value"),
    Input("curves-a", "value"),
    Input("curves-b", "value"),
    Input("curves-k", "value"),
    Input("curves-facet", "value"),
)
def write_url(benchmark_id, run_ids, a, b, k, facet):
    """Keep the whole state of the page in the query string."""
    return search_string(
        {
            "benchmark": benchmark_id,
            "runs": run_ids or [],
            "a": a,
            "b": b,
            "k": as_int(k, minimum=1),
            "facet": facet,
        }
    )


@callback(
    Output("curves-download", "data"),
    Input("curves-csv", "n_clicks"),
    State("curves-data", "data"),
    prevent_initial_call=True,
)
def download_csv(_clicks: int | None, runs: list[dict] | None):
    """The plotted curves with their intervals as CSV."""
    if not runs:
        return dash.no_update
    return dcc.send_string(curves_csv(runs), "coverscope-curves.csv")


clientside_callback(
    """function(png, svg) {
        var trigger = (dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
        var format = trigger.indexOf("curves-svg") === 0 ? "svg" : "png";
        var graph = document.querySelector("#curves-graph .js-plotly-plot");
        if (graph && window.Plotly) {
            window.Plotly.downloadImage(graph, {format: format, filename: "coverscope-curves",
                                                width: 1200, height: 600});
        }
        return format;
    }""",
    Output("curves-dummy", "children"),
    Input("curves-png", "n_clicks"),
    Input("curves-svg", "n_clicks"),
    prevent_initial_call=True,
)
