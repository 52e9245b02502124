"""Plotly figures and their data helpers for the dashboard (pure: no Dash, no database).

Every text that reaches Plotly (legend, hover, titles) goes through `plot_text`, because Plotly renders a
subset of HTML in labels and model or benchmark names are data.
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

# Colour-blind-safe (Okabe-Ito, then Tableau) so that a run keeps its colour on every page.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#7F7F7F",
    "#8C564B",
    "#17BECF",
    "#BCBD22",
)
BETTER_COLOUR = "rgba(0, 158, 115, 0.16)"
WORSE_COLOUR = "rgba(213, 94, 0, 0.16)"
UNDETERMINED_COLOUR = "rgba(127, 127, 127, 0.10)"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def run_color(run_id: int) -> str:
    """The colour of run `run_id`, the same on every page and in every figure."""
    return PALETTE[(int(run_id) - 1) % len(PALETTE)]


def rgba(hex_colour: str, alpha: float) -> str:
    """`#rrggbb` as an rgba() string with opacity `alpha`."""
    value = hex_colour.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def plot_text(value: object) -> str:
    """Text made inert for Plotly labels (which understand a subset of HTML)."""
    return html.escape(str(value), quote=True)


def run_label(run: Mapping[str, Any]) -> str:
    """How a run is named in figures and tables: "#id model (kind)"."""
    return f"#{run['run_id']} {run['model']} ({run['kind']})"


def log2_ticks(max_k: int) -> list[int]:
    """Tick positions 1, 2, 4, ... up to max_k, with max_k itself when it is not a power of two."""
    if max_k < 1:
        return []
    ticks = [1 << i for i in range(max_k.bit_length()) if 1 << i <= max_k]
    if ticks[-1] != max_k:
        ticks.append(max_k)
    return ticks


def contiguous_ranges(ks: Sequence[int], members: Iterable[int]) -> list[tuple[int, int]]:
    """Maximal runs [lo, hi] of consecutive entries of the grid `ks` that belong to `members`."""
    chosen = set(members)
    out: list[tuple[int, int]] = []
    start = prev = None
    for k in ks:
        if k in chosen:
            if start is None:
                start = k
            prev = k
        elif start is not None:
            out.append((start, prev))
            start = None
    if start is not None:
        out.append((start, prev))
    return out


def _log_axis(fig: go.Figure, max_k: int, **where: Any) -> None:
    ticks = log2_ticks(max_k)
    fig.update_xaxes(
        type="log",
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
        range=[0, math.log10(max(max_k, 2))],
        title_text="k (samples per problem, log₂ scale)",
        showgrid=True,
        gridcolor="#e9ecef",
        **where,
    )


def _base_layout(fig: go.Figure, *, height: int) -> None:
    fig.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 55},
        font={"family": FONT, "size": 13},
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "bgcolor": "rgba(0,0,0,0)"},
    )


def empty_figure(message: str, *, height: int = 360) -> go.Figure:
    """A blank figure that says why it is blank."""
    fig = go.Figure()
    _base_layout(fig, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.add_annotation(text=plot_text(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def curves_figure(runs: Sequence[Mapping[str, Any]], *, confidence: float | None) -> go.Figure:
    """pass@k against k (log2 axis) for each run, with its bootstrap band when it has one.

    `runs` are the entries of `app.services.analysis.curves` (run_id, model, kind, ks, pass_at_k, lower,
    upper); `confidence` names the band (None: no bands).
    """
    fig = go.Figure()
    max_k = 1
    level = f"{confidence:.0%}" if confidence else ""
    for run in runs:
        colour = run_color(run["run_id"])
        label = plot_text(run_label(run))
        ks = list(run["ks"])
        max_k = max(max_k, max(ks, default=1))
        lower, upper = run.get("lower"), run.get("upper")
        if lower is not None and upper is not None:
            fig.add_trace(
                go.Scatter(
                    x=ks,
                    y=upper,
                    mode="lines",
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=str(run["run_id"]),
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=ks,
                    y=lower,
                    mode="lines",
                    line={"width": 0},
                    fill="tonexty",
                    fillcolor=rgba(colour, 0.18),
                    hoverinfo="skip",
                    name=f"{label}: {level} pointwise bootstrap band",
                    showlegend=False,
                    legendgroup=str(run["run_id"]),
                )
            )
            custom = [[lo, hi] for lo, hi in zip(lower, upper, strict=True)]
            hover = (
                f"<b>{label}</b><br>pass@%{{x}} = %{{y:.4f}}<br>{level} CI [%{{customdata[0]:.4f}}, "
                "%{customdata[1]:.4f}]<extra></extra>"
            )
        else:
            custom = None
            hover = f"<b>{label}</b><br>pass@%{{x}} = %{{y:.4f}}<extra></extra>"
        fig.add_trace(
            go.Scatter(
                x=ks,
                y=run["pass_at_k"],
                customdata=custom,
                mode="lines+markers" if len(ks) <= 16 else "lines",
                marker={"size": 5},
                line={"color": colour, "width": 2.2},
                name=label,
                legendgroup=str(run["run_id"]),
                hovertemplate=hover,
            )
        )
    _base_layout(fig, height=440)
    _log_axis(fig, max_k)
    fig.update_yaxes(title_text="pass@k", range=[0, 1.02], tickformat=".0%", gridcolor="#e9ecef")
    if confidence:
        fig.add_annotation(
            text=f"shaded: {level} percentile bootstrap over problems (pointwise)",
            xref="paper",
            yref="paper",
            x=1,
            y=0,
            xanchor="right",
            yanchor="bottom",
            showarrow=False,
            font={"size": 11, "color": "#6c757d"},
        )
    return fig


def difference_figure(diff: Mapping[str, Any], *, a_label: str, b_label: str) -> go.Figure:
    """pass@k(B) - pass@k(A) with its simultaneous band, and the k ranges where B is better, worse or
    undetermined shaded (`diff` is `app.services.analysis.compare(...)["difference"]`)."""
    ks = list(diff["ks"])
    max_k = max(ks, default=1)
    level = f"{1 - float(diff['alpha']):.0%}"
    fig = go.Figure()
    shading = (
        ("b_better", BETTER_COLOUR, "B better (band above 0)"),
        ("b_worse", WORSE_COLOUR, "B worse (band below 0)"),
        ("undetermined", UNDETERMINED_COLOUR, "undetermined (band covers 0)"),
    )
    for field, colour, name in shading:
        for i, (lo, hi) in enumerate(contiguous_ranges(ks, diff[field])):
            x0 = math.sqrt(lo * (lo - 1)) if lo > 1 else 1
            x1 = math.sqrt(hi * (hi + 1)) if hi < max_k else max_k
            fig.add_trace(
                go.Scatter(
                    x=[x0, x0, x1, x1, x0],
                    y=[0, 1, 1, 0, 0],
                    yaxis="y2",
                    mode="lines",
                    line={"width": 0},
                    fill="toself",
                    fillcolor=colour,
                    name=f"{name}: k {lo}–{hi}" if lo != hi else f"{name}: k {lo}",
                    legendgroup=field,
                    showlegend=i == 0,
                    hoverinfo="name",
                )
            )
        if diff[field]:
            fig.data[-1].name = name  # type: ignore[index]
    lower, upper, mean = diff["lower"], diff["upper"], diff["mean"]
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=upper,
            mode="lines",
            line={"width": 0, "color": "#495057"},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=lower,
            mode="lines",
            line={"width": 0, "color": "#495057"},
            fill="tonexty",
            fillcolor="rgba(73, 80, 87, 0.22)",
            name=f"{level} simultaneous band over k",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=ks,
            y=mean,
            customdata=[[lo, hi] for lo, hi in zip(lower, upper, strict=True)],
            mode="lines",
            line={"color": "#212529", "width": 2},
            name="B − A",
            hovertemplate=(
                "k = %{x}<br>B − A = %{y:+.4f}<br>"
                f"{level} simultaneous band [%{{customdata[0]:+.4f}}, %{{customdata[1]:+.4f}}]<extra></extra>"
            ),
        )
    )
    _base_layout(fig, height=360)
    _log_axis(fig, max_k)
    fig.add_hline(y=0, line={"color": "#adb5bd", "width": 1, "dash": "dot"})
    fig.update_layout(
        yaxis={
            "title": {"text": "pass@k(B) − pass@k(A)"},
            "tickformat": "+.0%",
            "zeroline": False,
            "gridcolor": "#e9ecef",
        },
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        title={
            "text": f"B = {plot_text(b_label)} minus A = {plot_text(a_label)}",
            "font": {"size": 13},
            "x": 0,
            "xanchor": "left",
            "y": 0.99,
        },
        margin={"t": 70},
    )
    return fig


def facet_figure(
    facets: Mapping[str, Sequence[Mapping[str, Any]]], *, facet_key: str, columns: int = 3
) -> go.Figure:
    """Small multiples of pass@k per metadata value (`facets`: value -> curve entries as in curves_figure)."""
    names = list(facets)
    columns = max(1, min(columns, len(names)))
    rows = max(1, math.ceil(len(names) / columns))
    titles = []
    for name in names:
        entries = facets[name]
        problems = entries[0]["problems"] if entries else 0
        titles.append(plot_text(f"{facet_key} = {name}  ({problems} problems)"))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        shared_yaxes=True,
        vertical_spacing=min(0.12, 0.5 / rows),
        horizontal_spacing=0.04,
    )
    max_k = 1
    shown: set[int] = set()
    for i, name in enumerate(names):
        row, col = i // columns + 1, i % columns + 1
        for run in facets[name]:
            ks = list(run["ks"])
            max_k = max(max_k, max(ks, default=1))
            label = plot_text(run_label(run))
            fig.add_trace(
                go.Scatter(
                    x=ks,
                    y=run["pass_at_k"],
                    mode="lines",
                    line={"color": run_color(run["run_id"]), "width": 1.8},
                    name=label,
                    legendgroup=str(run["run_id"]),
                    showlegend=run["run_id"] not in shown,
                    hovertemplate=f"<b>{label}</b><br>{plot_text(name)}<br>pass@%{{x}} = %{{y:.4f}}"
                    "<extra></extra>",
                ),
                row=row,
                col=col,
            )
            shown.add(run["run_id"])
    _base_layout(fig, height=max(320, 260 * rows + 80))
    fig.update_layout(margin={"t": 80}, legend={"y": 1 + 50 / max(320, 260 * rows + 80)})
    ticks = log2_ticks(max_k)
    fig.update_xaxes(
        type="log",
        tickvals=ticks,
        ticktext=[str(t) for t in ticks],
        gridcolor="#e9ecef",
        range=[0, math.log10(max(max_k, 2))],
    )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", gridcolor="#e9ecef")
    fig.update_annotations(font_size=12)
    return fig


def histogram_figure(
    labels: Sequence[str], series: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> go.Figure:
    """The accuracy histogram of Yue et al. (2025): fraction of problems per accuracy bin, runs side by side.

    `series` pairs a run summary (run_id, model, kind) with `app.stats.accuracy_histogram`'s output.
    """
    fig = go.Figure()
    for run, hist in series:
        label = plot_text(run_label(run))
        fig.add_trace(
            go.Bar(
                x=list(labels),
                y=hist["fractions"],
                customdata=hist["counts"],
                name=label,
                marker={"color": run_color(run["run_id"])},
                hovertemplate=f"<b>{label}</b><br>accuracy %{{x}}<br>%{{customdata}} problems "
                "(%{y:.1%})<extra></extra>",
            )
        )
    _base_layout(fig, height=340)
    fig.update_layout(barmode="group", bargap=0.18)
    fig.update_xaxes(title_text="per-problem accuracy c/n", type="category")
    fig.update_yaxes(title_text="fraction of problems", tickformat=".0%", gridcolor="#e9ecef")
    return fig


def curves_csv(runs: Sequence[Mapping[str, Any]]) -> str:
    """The curves as CSV: one row per (run, k) with pass@k and its interval (empty when none)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run_id", "model", "kind", "benchmark", "k", "pass_at_k", "lower", "upper"])
    for run in runs:
        lower = run.get("lower") or [None] * len(run["ks"])
        upper = run.get("upper") or [None] * len(run["ks"])
        for k, value, lo, hi in zip(run["ks"], run["pass_at_k"], lower, upper, strict=True):
            writer.writerow(
                [
                    run["run_id"],
                    run["model"],
                    run["kind"],
                    run.get("benchmark", ""),
                    k,
                    _num(value),
                    _num(lo),
                    _num(hi),
                ]
            )
    return out.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"
