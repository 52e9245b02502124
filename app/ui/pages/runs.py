"""Runs: every run with its sampling settings, live progress and headline numbers; pick runs to plot or
compare. State in the URL: `benchmark` (id) and `runs` (selected ids)."""

from __future__ import annotations

from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from app.services import browse, views
from app.ui import store
from app.ui.components import labelled, loading, no_runs_notice, page_header
from app.ui.urlstate import as_int, as_int_list, href, search_string

dash.register_page(__name__, path="/", title="Runs · Coverscope", name="Runs", order=0)

ACTIVE = ("queued", "running")

PERCENT = {"function": "params.value == null ? '–' : d3.format('.1%')(params.value)"}
PROGRESS_STYLE = {
    "function": (
        "params.data.status == 'done' ? {} : {'background': 'linear-gradient(90deg, rgba(13,110,253,0.28) ' "
        "+ params.data.progress + '%, rgba(13,110,253,0.06) ' + params.data.progress + '%)'}"
    )
}

COLUMNS = [
    {"field": "id", "headerName": "#", "width": 80, "sort": "desc"},
    {"field": "model", "headerName": "model", "flex": 2, "minWidth": 180, "tooltipField": "model"},
    {"field": "kind", "width": 90},
    {"field": "base_model", "headerName": "lineage (base)", "flex": 1, "minWidth": 140},
    {"field": "benchmark", "flex": 1, "minWidth": 120},
    {"field": "n", "headerName": "n", "width": 80, "type": "numericColumn"},
    {"field": "sampling", "headerName": "sampling", "flex": 1, "minWidth": 170},
    {
        "field": "status_text",
        "headerName": "status",
        "minWidth": 170,
        "flex": 1,
        "cellStyle": PROGRESS_STYLE,
        "cellClass": "status-cell",
    },
    {"field": "problems", "width": 100, "type": "numericColumn"},
    {
        "field": "pass_at_1",
        "headerName": "pass@1",
        "width": 100,
        "type": "numericColumn",
        "valueFormatter": PERCENT,
    },
    {
        "field": "pass_at_n",
        "headerName": "pass@n",
        "width": 100,
        "type": "numericColumn",
        "valueFormatter": PERCENT,
        "headerTooltip": "fraction of problems with at least one correct sample",
    },
]


def _sampling(run: views.RunOverview) -> str:
    parts = []
    if run.temperature is not None:
        parts.append(f"T={run.temperature:g}")
    if run.top_p is not None:
        parts.append(f"top-p={run.top_p:g}")
    if run.max_tokens is not None:
        parts.append(f"max {run.max_tokens} tok")
    parts.append(run.engine)
    return " · ".join(parts)


def _status(run: views.RunOverview) -> tuple[str, float]:
    if run.samples_total > 0:
        progress = min(100.0, 100.0 * run.samples_done / run.samples_total)
    else:
        progress = 100.0 if run.status == "done" else 0.0
    if run.status == "done":
        return "done", 100.0
    return f"{run.status} {progress:.0f}% ({run.samples_done:,}/{run.samples_total:,})", progress


def run_rows(runs: list[views.RunOverview]) -> list[dict[str, Any]]:
    """The grid's rows for the runs overview."""
    rows = []
    for run in runs:
        text, progress = _status(run)
        rows.append(
            {
                "id": run.id,
                "rid": str(run.id),
                "model": run.model,
                "kind": run.kind,
                "base_model": run.base_model or "",
                "benchmark": run.benchmark,
                "benchmark_id": run.benchmark_id,
                "n": run.n,
                "sampling": _sampling(run),
                "status": run.status,
                "status_text": text,
                "progress": round(progress, 1),
                "problems": run.problems,
                "pass_at_1": run.pass_at_1,
                "pass_at_n": run.pass_at_n,
            }
        )
    return rows


def layout(benchmark: str | None = None, runs: str | None = None, **_: Any) -> html.Div:
    """The runs page for the query `?benchmark=ID&runs=1,2`."""
    chosen_benchmark = as_int(benchmark)
    with store.session() as session:
        benchmarks = browse.list_benchmarks(session=session)
        names = {b.id: b.name for b in benchmarks}
        overview = views.run_overview(session=session, benchmark=names.get(chosen_benchmark))
        any_runs = bool(overview) or (
            chosen_benchmark is not None and bool(views.run_overview(session=session))
        )
    selected = as_int_list(runs)
    options = [{"label": f"{b.name} ({b.problems} problems)", "value": b.id} for b in benchmarks]
    return html.Div(
        [
            dcc.Location(id="runs-url", refresh=False),
            page_header(
                "Runs",
                "Every model × benchmark × sampling configuration here. Tick runs to plot or compare.",
            ),
            html.Div(None if any_runs else no_runs_notice(), id="runs-empty"),
            dbc.Row(
                [
                    labelled(
                        "Benchmark",
                        dcc.Dropdown(
                            id="runs-benchmark",
                            options=options,
                            value=chosen_benchmark,
                            placeholder="all benchmarks",
                            clearable=True,
                        ),
                        width=4,
                    ),
                    dbc.Col(
                        html.Div(
                            [
                                dbc.Button(
                                    "Plot pass@k curves",
                                    id="runs-plot",
                                    color="primary",
                                    href="/curves",
                                    disabled=True,
                                ),
                                dbc.Button(
                                    "Compare A vs B",
                                    id="runs-compare",
                                    color="secondary",
                                    outline=True,
                                    href="/coverage",
                                    disabled=True,
                                ),
                                html.Span(id="runs-hint", className="text-muted small"),
                            ],
                            className="d-flex gap-2 align-items-end h-100 flex-wrap",
                        ),
                        md=8,
                    ),
                ],
                className="g-3 mb-3",
            ),
            loading(
                dag.AgGrid(
                    id="runs-grid",
                    columnDefs=COLUMNS,
                    rowData=run_rows(overview),
                    getRowId="params.data.rid",
                    selectedRows={"ids": [str(r) for r in selected]},
                    defaultColDef={"sortable": True, "resizable": True, "filter": True},
                    dashGridOptions={
                        "rowSelection": {
                            "mode": "multiRow",
                            "checkboxes": True,
                            "headerCheckbox": False,
                            "enableClickSelection": False,
                        },
                        "domLayout": "autoHeight",
                        "tooltipShowDelay": 300,
                    },
                    className="runs-grid",
                    style={"width": "100%"},
                )
            ),
            dcc.Interval(
                id="runs-tick", interval=3000, disabled=not any(r.status in ACTIVE for r in overview)
            ),
        ]
    )


@callback(
    Output("runs-grid", "rowData"),
    Output("runs-tick", "disabled"),
    Output("runs-empty", "children"),
    Input("runs-benchmark", "value"),
    Input("runs-tick", "n_intervals"),
    prevent_initial_call=True,
)
def refresh_runs(benchmark_id: int | None, _ticks: int | None):
    """Reload the runs (live while any is queued or running)."""
    with store.session() as session:
        name = None
        if benchmark_id is not None:
            names = {b.id: b.name for b in browse.list_benchmarks(session=session)}
            name = names.get(benchmark_id)
        runs = views.run_overview(session=session, benchmark=name)
        if not runs and benchmark_id is None:
            return [], True, no_runs_notice()
    active = any(r.status in ACTIVE for r in runs)
    return run_rows(runs), not active, None


@callback(
    Output("runs-url", "search"),
    Output("runs-plot", "href"),
    Output("runs-plot", "disabled"),
    Output("runs-compare", "href"),
    Output("runs-compare", "disabled"),
    Output("runs-hint", "children"),
    Input("runs-benchmark", "value"),
    Input("runs-grid", "selectedRows"),
    State("runs-grid", "rowData"),
)
def selection_changed(benchmark_id: int | None, selected: Any, rows: list[dict] | None):
    """Keep the URL and the plot/compare links in step with the filter and the ticked runs."""
    chosen = (
        [r for r in (selected or []) if isinstance(r, dict) and "id" in r]
        if isinstance(selected, list)
        else []
    )
    ids = [int(r["id"]) for r in chosen]
    search = search_string({"benchmark": benchmark_id, "runs": ids})
    if isinstance(selected, dict):  # still the initial {"ids": [...]} from the URL
        return dash.no_update, dash.no_update, dash.no_update, dash.no_update, dash.no_update, dash.no_update
    benchmarks = {r.get("benchmark_id") for r in chosen}
    if not ids:
        return search, "/curves", True, "/coverage", True, "Tick one or more runs of one benchmark."
    if len(benchmarks) > 1:
        return search, "/curves", True, "/coverage", True, "The ticked runs are on different benchmarks."
    bench = next(iter(benchmarks))
    plot = href("/curves", {"benchmark": bench, "runs": ids})
    if len(ids) == 2:
        # A is the base-like run when there is one, so B - A reads "what training changed".
        a, b = sorted(chosen, key=lambda r: (r.get("kind") != "base", r["id"]))
        compare = href("/coverage", {"a": a["id"], "b": b["id"]})
        return search, plot, False, compare, False, f"A = #{a['id']}, B = #{b['id']}"
    return search, plot, False, "/coverage", True, "Tick exactly two runs to compare them."
