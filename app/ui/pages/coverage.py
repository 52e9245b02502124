"""Coverage: runs A and B at k -> problems both solve, only A, only B, neither; each tile opens its
problems with their counts and the evidence; metadata filters; the accuracy histogram of both runs.

State in the URL: `a`, `b`, `k`, `tile`, and one `meta.KEY=VALUE` per filter.
"""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html

from app.core.errors import AppError
from app.services import browse, views
from app.ui import store
from app.ui.choices import COVERAGE_TILES, clamp_k, default_pair, facet_keys
from app.ui.components import error_notice, labelled, loading, no_runs_notice, notice, page_header, run_chip
from app.ui.figures import empty_figure, histogram_figure, run_label
from app.ui.urlstate import as_choice, as_int, href, meta_filters, meta_params, search_string

dash.register_page(__name__, path="/coverage", title="Coverage · Coverscope", name="Coverage", order=2)

LIST_LIMIT = browse.MAX_LIMIT
TILE_TEXT = {
    "both": ("Both solve", "success"),
    "only_a": ("Only A solves", "primary"),
    "only_b": ("Only B solves", "warning"),
    "neither": ("Neither solves", "secondary"),
}
SCIENTIFIC = {"function": "params.value == null ? '' : d3.format('.2~g')(params.value)"}


def _label(run: views.RunOverview) -> str:
    return f"#{run.id} {run.model} ({run.kind}) · {run.benchmark} · n={run.n}"


def layout(
    a: str | None = None, b: str | None = None, k: str | None = None, tile: str | None = None, **query: Any
) -> html.Div:
    """The coverage page for `?a=1&b=2&k=32&tile=only_a&meta.subject=Algebra`."""
    with store.session() as session:
        runs = [r for r in views.run_overview(session=session) if r.problems > 0]
        if not runs:
            return html.Div([page_header("Coverage"), no_runs_notice()])
        by_id = {r.id: r for r in runs}
        a_id, b_id = as_int(a), as_int(b)
        problems = []
        if a_id is not None and a_id not in by_id:
            problems.append(notice(f"run {a_id} not found (or has no graded samples)", color="warning"))
            a_id = None
        if b_id is not None and b_id not in by_id:
            problems.append(notice(f"run {b_id} not found (or has no graded samples)", color="warning"))
            b_id = None
        bench = (
            by_id[a_id].benchmark_id if a_id else by_id[b_id].benchmark_id if b_id else runs[-1].benchmark_id
        )
        same = [r for r in runs if r.benchmark_id == bench]
        a_id, b_id = default_pair(
            [{"id": r.id, "kind": r.kind} for r in sorted(same, key=lambda r: r.id)], a_id, b_id
        )
        facets = browse.meta_facets(session=session, benchmark_id=bench)
    keys = facet_keys(facets)
    filters = {key: value for key, value in meta_filters(query).items() if key in keys}
    max_k = min(by_id[a_id].n, by_id[b_id].n) if a_id and b_id else 1
    chosen_k = clamp_k(as_int(k, minimum=1), max_k)
    options = [{"label": _label(r), "value": r.id} for r in same]
    filter_controls = [
        labelled(
            key,
            dcc.Dropdown(
                id={"type": "coverage-meta", "key": key},
                options=[{"label": v, "value": v} for v in facets[key]],
                value=filters.get(key),
                placeholder=f"any {key}",
            ),
            width=2,
        )
        for key in keys
    ]
    return html.Div(
        [
            dcc.Location(id="coverage-url", refresh=False),
            dcc.Location(id="coverage-nav", refresh="callback-nav"),
            dcc.Store(id="coverage-tile", data=as_choice(tile, COVERAGE_TILES, "only_a")),
            page_header(
                "Coverage",
                "Which problems each run solves at k (pass@k ≥ 0.5; at k = n: at least one correct sample).",
            ),
            *problems,
            dbc.Row(
                [
                    labelled(
                        "Run A",
                        dcc.Dropdown(id="coverage-a", options=options, value=a_id, clearable=False),
                        width=4,
                    ),
                    labelled(
                        "Run B",
                        dcc.Dropdown(id="coverage-b", options=options, value=b_id, clearable=False),
                        width=4,
                    ),
                    labelled(
                        "k",
                        dbc.Input(
                            id="coverage-k",
                            type="number",
                            min=1,
                            max=max_k,
                            step=1,
                            value=chosen_k,
                            debounce=True,
                        ),
                        width=1,
                        help=f"1 … {max_k}",
                    ),
                    *filter_controls,
                ],
                className="g-3 mb-3",
            ),
            loading(html.Div(id="coverage-summary")),
            dbc.Row(id="coverage-tiles", className="g-3 mb-3"),
            dbc.Card(
                [
                    dbc.CardHeader(html.Span(id="coverage-list-title")),
                    dbc.CardBody(
                        loading(
                            dag.AgGrid(
                                id="coverage-grid",
                                rowData=[],
                                columnDefs=[],
                                getRowId="params.data.rid",
                                defaultColDef={"sortable": True, "resizable": True, "filter": True},
                                dashGridOptions={
                                    "pagination": True,
                                    "paginationPageSize": 20,
                                    "paginationPageSizeSelector": [20, 50, 100],
                                    "domLayout": "autoHeight",
                                    "rowClass": "clickable-row",
                                },
                                className="coverage-grid",
                                style={"width": "100%"},
                            )
                        ),
                        className="p-2",
                    ),
                ],
                className="shadow-sm mb-3",
            ),
            dbc.Card(
                [
                    dbc.CardHeader("Per-problem accuracy c/n (histogram of Yue et al., 2025)"),
                    dbc.CardBody(
                        loading(
                            dcc.Graph(
                                id="coverage-histogram",
                                figure=empty_figure("loading …"),
                                config={"displaylogo": False},
                            )
                        )
                    ),
                ],
                className="shadow-sm",
            ),
        ]
    )


def _filters(ids: list[dict], values: list[Any]) -> dict[str, str]:
    return {i["key"]: str(v) for i, v in zip(ids, values, strict=True) if v not in (None, "")}


def _tile(which: str, count: int, total: int, chosen: bool, label: str) -> dbc.Col:
    title, colour = TILE_TEXT[which]
    share = f"{100 * count / total:.1f}% of {total}" if total else "–"
    return dbc.Col(
        html.Button(
            [
                html.Div(title, className="tile-title"),
                html.Div(label, className="tile-runs small text-muted text-truncate"),
                html.Div(f"{count}", className="tile-count"),
                html.Div(share, className="small text-muted"),
            ],
            id={"type": "coverage-tile-button", "which": which},
            className=f"coverage-tile border-{colour}" + (" active" if chosen else ""),
            **{"data-which": which},
        ),
        xs=6,
        lg=3,
    )


@callback(
    Output("coverage-b", "options"),
    Output("coverage-a", "options"),
    Input("coverage-a", "value"),
    State("coverage-a", "options"),
    prevent_initial_call=True,
)
def a_changed(a: int | None, _options):
    """Offer as A and B the runs on A's benchmark."""
    with store.session() as session:
        runs = [r for r in views.run_overview(session=session) if r.problems > 0]
    bench = next((r.benchmark_id for r in runs if r.id == a), None)
    options = [{"label": _label(r), "value": r.id} for r in runs if bench is None or r.benchmark_id == bench]
    return options, options


@callback(
    Output("coverage-tile", "data"),
    Input({"type": "coverage-tile-button", "which": ALL}, "n_clicks"),
    prevent_initial_call=True,
)
def tile_clicked(clicks: list[int | None]):
    """Open the problem list of the clicked tile."""
    if not ctx.triggered_id or not any(clicks):
        return dash.no_update
    return ctx.triggered_id["which"]


@callback(
    Output("coverage-summary", "children"),
    Output("coverage-tiles", "children"),
    Output("coverage-histogram", "figure"),
    Output("coverage-k", "max"),
    Output("coverage-url", "search"),
    Input("coverage-a", "value"),
    Input("coverage-b", "value"),
    Input("coverage-k", "value"),
    Input("coverage-tile", "data"),
    Input({"type": "coverage-meta", "key": ALL}, "value"),
    State({"type": "coverage-meta", "key": ALL}, "id"),
)
def summarise(a, b, k, tile, meta_values, meta_ids):
    """The four tiles, the histogram and the URL for the chosen runs, k and filters."""
    filters = _filters(meta_ids, meta_values)
    search = search_string({"a": a, "b": b, "k": as_int(k, minimum=1), "tile": tile, **meta_params(filters)})
    if a is None or b is None:
        return notice("Choose two runs of one benchmark.", color="light"), [], empty_figure(""), 1, search
    try:
        with store.session() as session:
            ca = views.run_overview(session=session)
            n_of = {r.id: r.n for r in ca}
            max_k = min(n_of.get(a, 1), n_of.get(b, 1))
            kk = clamp_k(as_int(k, minimum=1), max_k)
            summary = views.coverage_summary(session=session, a=a, b=b, k=kk, meta=filters)
    except AppError as exc:
        return error_notice(exc), [], empty_figure(""), dash.no_update, search
    counts, total = summary["counts"], summary["problems"]
    head = html.Div(
        [
            run_chip(a, "A = " + run_label(summary["a"])),
            run_chip(b, "B = " + run_label(summary["b"])),
            html.Span(
                f"k = {kk} · {total} problems" + (" (filtered)" if filters else ""), className="text-muted"
            ),
            html.A(
                "curves →", href=href("/curves", {"runs": [a, b], "a": a, "b": b, "k": kk}), className="small"
            ),
        ],
        className="d-flex flex-wrap gap-3 align-items-center mb-2 small",
    )
    tiles = [
        _tile(
            w,
            counts[w],
            total,
            w == tile,
            {"both": "A and B", "only_a": "A, not B", "only_b": "B, not A", "neither": "neither A nor B"}[w],
        )
        for w in COVERAGE_TILES
    ]
    hist = summary["histograms"]
    figure = (
        histogram_figure(hist["a"]["labels"], [(summary["a"], hist["a"]), (summary["b"], hist["b"])])
        if hist
        else empty_figure("No problem matches the filters.")
    )
    return head, tiles, figure, summary["max_k"], search


@callback(
    Output("coverage-grid", "rowData"),
    Output("coverage-grid", "columnDefs"),
    Output("coverage-list-title", "children"),
    Input("coverage-a", "value"),
    Input("coverage-b", "value"),
    Input("coverage-k", "value"),
    Input("coverage-tile", "data"),
    Input({"type": "coverage-meta", "key": ALL}, "value"),
    State({"type": "coverage-meta", "key": ALL}, "id"),
)
def list_tile(a, b, k, tile, meta_values, meta_ids):
    """The problems of the chosen tile with n and correct per run and, for "only", the evidence."""
    if a is None or b is None or tile not in COVERAGE_TILES:
        return [], [], "Problems"
    filters = _filters(meta_ids, meta_values)
    try:
        with store.session() as session:
            n_of = {r.id: (r.n, r.benchmark_id) for r in views.run_overview(session=session)}
            kk = clamp_k(as_int(k, minimum=1), min(n_of.get(a, (1, 0))[0], n_of.get(b, (1, 0))[0]))
            page = browse.list_problems(
                session=session,
                benchmark_id=n_of[a][1],
                run_ids=[a, b],
                meta=filters or None,
                coverage=browse.CoverageFilter(a=a, b=b, k=kk, which=tile),
                limit=LIST_LIMIT,
            )
            keys = facet_keys(browse.meta_facets(session=session, benchmark_id=n_of[a][1]))
    except (AppError, KeyError) as exc:
        return [], [], str(exc)
    rows = []
    for p in page.items:
        ca, cb = p.per_run.get(a), p.per_run.get(b)
        row = {
            "id": p.id,
            "rid": str(p.id),
            "key": p.key,
            "a": f"{ca.correct}/{ca.n}" if ca else "–",
            "b": f"{cb.correct}/{cb.n}" if cb else "–",
            "acc_a": ca.correct / ca.n if ca and ca.n else None,
            "acc_b": cb.correct / cb.n if cb and cb.n else None,
            **{f"meta_{key}": views.meta_text(p.meta.get(key)) for key in keys},
        }
        if p.evidence:
            row.update(
                p_value=p.evidence["p_value"],
                q_value=p.evidence["q_value"],
                p_binomial=p.evidence["p_binomial"],
            )
        rows.append(row)
    columns = [
        {"field": "key", "headerName": "problem", "flex": 2, "minWidth": 200, "cellClass": "problem-key"},
        *({"field": f"meta_{key}", "headerName": key, "flex": 1, "minWidth": 110} for key in keys),
        {"field": "a", "headerName": f"A #{a} correct/n", "width": 150},
        {"field": "b", "headerName": f"B #{b} correct/n", "width": 150},
    ]
    if tile in ("only_a", "only_b"):
        columns += [
            {
                "field": "p_value",
                "headerName": "p (Fisher, 1-sided)",
                "width": 160,
                "valueFormatter": SCIENTIFIC,
                "headerTooltip": "one-sided Fisher exact test: the solving run's per-sample rate is higher",
            },
            {
                "field": "q_value",
                "headerName": "q (BH)",
                "width": 110,
                "valueFormatter": SCIENTIFIC,
                "headerTooltip": "Benjamini-Hochberg adjusted across the problems of this set",
            },
            {
                "field": "p_binomial",
                "headerName": "P(other ≤ seen)",
                "width": 150,
                "valueFormatter": SCIENTIFIC,
                "headerTooltip": "P(X <= other run's correct), X ~ Binomial(other n, solving run's c/n)",
            },
        ]
    title, _ = TILE_TEXT[tile]
    shown = f"{len(rows)} of {page.total}" if page.total > len(rows) else f"{page.total}"
    return rows, columns, f"{title} at k = {kk}: {shown} problems (click one to open it)"


@callback(
    Output("coverage-nav", "href"),
    Input("coverage-grid", "cellClicked"),
    State("coverage-a", "value"),
    State("coverage-b", "value"),
    prevent_initial_call=True,
)
def open_problem(cell: dict | None, a: int | None, b: int | None):
    """Open the clicked problem with both runs."""
    if not cell or cell.get("rowId") is None:
        return dash.no_update
    return href("/problem", {"id": cell["rowId"], "runs": [r for r in (a, b) if r is not None]})
