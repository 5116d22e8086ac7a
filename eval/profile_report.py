"""DIR/report.html of `stanceframe profile`: one self-contained page (figures inlined as base64
PNG) that a reader who does not code can follow: what was counted, how it was corrected, by group
and over time, and which groups are too small to trust."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import PackageLoader

from stanceframe.eval import figures
from stanceframe.eval.render import Figure
from stanceframe.rendering import jinja_environment

if TYPE_CHECKING:
    from stanceframe.eval.profile import ProfileResult

MAX_GROUPS_DRAWN = 40  # by sentences; the table lists every group
MAX_LINES_DRAWN = 8


def _matrix(table, column: str, groups: list[str], labels: list[str]) -> np.ndarray:
    pivot = table.pivot(index="group", columns="label", values=column)
    return pivot.reindex(index=groups, columns=labels).to_numpy(dtype=float)


def draw_profile_figures(result: ProfileResult) -> list[Figure]:
    table, labels, settings = result.table, result.label_names, result.settings
    sizes = table.drop_duplicates("group").set_index("group")["sentences"]
    drawn_groups = list(sizes.sort_values(ascending=False).index[:MAX_GROUPS_DRAWN])
    drawn_groups.sort()
    small = [bool(sizes[group] < settings.min_group) for group in drawn_groups]
    drawn = []
    if not settings.time:  # with --time, the lines over time show the groups
        drawn.append(
            Figure(
                "groups",
                "Shares by group",
                "Dots: the corrected share of sentences with each label, with its 95% interval "
                "(bar). Hollow red diamonds: the share the model's labels counted, before the "
                "correction. Grey: groups under the minimum size.",
                figures.group_shares(
                    labels,
                    drawn_groups,
                    _matrix(table, "corrected_share", drawn_groups, labels),
                    _matrix(table, "ci_low", drawn_groups, labels),
                    _matrix(table, "ci_high", drawn_groups, labels),
                    _matrix(table, "share", drawn_groups, labels),
                    small,
                ),
            )
        )
    if settings.time:
        period_column = settings.time.column
        keyed = table.copy()
        if settings.by:
            keyed["line"] = keyed["group"].str.rsplit(" | ", n=1).str[0]
            keyed["period"] = keyed["group"].str.rsplit(" | ", n=1).str[1]
        else:
            keyed["line"] = "all"
            keyed["period"] = keyed["group"]
        periods = sorted(keyed["period"].unique())
        line_sizes = keyed.drop_duplicates("group").groupby("line")["sentences"].sum()
        lines = list(line_sizes.sort_values(ascending=False).index[:MAX_LINES_DRAWN])
        series: dict[str, dict[str, np.ndarray]] = {}
        for line in sorted(lines):
            rows = keyed[keyed["line"] == line]
            series[line] = {
                name: rows.pivot(index="period", columns="label", values=column)
                .reindex(index=periods, columns=labels)
                .to_numpy(dtype=float)
                for name, column in (
                    ("corrected", "corrected_share"),
                    ("low", "ci_low"),
                    ("high", "ci_high"),
                )
            }
        drawn.append(
            Figure(
                "time",
                f"Shares over time (by {settings.time.unit})",
                f"Each line is the corrected share per {settings.time.unit} of "
                f"{period_column.rsplit('_', 1)[0]!r}; the band is its 95% interval. A wide band "
                "means few sentences in that period.",
                figures.shares_over_time(labels, periods, series),
            )
        )
    return drawn


def _percent(value: float | None) -> str:
    return "–" if value is None or value != value else f"{100 * value:.1f}%"


def render_profile_report(result: ProfileResult) -> str:
    environment = jinja_environment(PackageLoader("stanceframe.eval", "templates"))
    environment.filters["pct"] = _percent
    template = environment.get_template("profile.html.j2")
    table = result.table
    groups: list[dict[str, Any]] = []
    for name, rows in table.groupby("group", sort=True):
        groups.append(
            {
                "name": name,
                "sentences": int(rows["sentences"].iloc[0]),
                "articles": int(rows["articles"].iloc[0]),
                "small": bool(rows["small_group"].iloc[0]),
                "labels": {row["label"]: row for row in rows.to_dict(orient="records")},
            }
        )
    summary = result.summary
    return template.render(
        s=summary,
        labels=result.label_names,
        groups=groups,
        overall={row["label"]: row for row in result.overall.to_dict(orient="records")},
        figures=draw_profile_figures(result),
        confusion=summary["dev"]["confusion"],
    )
