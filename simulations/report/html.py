"""`report.html`: one self-contained page per simulated day (plots inlined, no network needed).

The page shows the figures that matter at a glance — orders delivered, click-to-door against
the target and the maximum, how busy the fleet was through the day, how evenly couriers were
used — and a map of the day. Plots are drawn with matplotlib (Agg backend, no display) and
inlined as PNG; the same inputs give the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

__all__ = ["DayReport", "write_report", "png", "KPI_LABELS"]

#: The KPIs shown in the table, in order, with their labels.
KPI_LABELS: dict[str, str] = {
    "orders": "orders",
    "orders_delivered": "delivered",
    "orders_undelivered": "not delivered",
    "orders_undelivered_pct": "not delivered (%)",
    "click_to_door_mean_min": "click-to-door mean (min)",
    "click_to_door_p50_min": "click-to-door median (min)",
    "click_to_door_p90_min": "click-to-door p90 (min)",
    "click_to_door_max_min": "click-to-door max (min)",
    "click_to_door_overage_mean_min": "overage beyond the target, mean (min)",
    "ready_to_door_mean_min": "ready-to-door mean (min)",
    "ready_to_pickup_mean_min": "ready-to-pickup mean (min)",
    "courier_utilization_mean": "courier utilisation",
    "orders_per_bundle_mean": "orders per bundle",
    "cost_per_order": "courier cost per order",
    "couriers_on_guaranteed_pay_share": "couriers on guaranteed pay",
    "offers_declined": "offers declined",
    "offers_expired": "offers expired",
    "distance_km": "distance driven (km)",
    "wall_s": "wall time (s)",
    "cpu_s": "CPU time (s)",
    "simulated_min_per_wall_s": "simulated minutes per wall second",
}


@dataclass
class DayReport:
    title: str
    subtitle: str
    kpis: dict[str, Any]
    click_to_door_min: Sequence[float]
    #: (virtual seconds, open orders, couriers on shift, couriers busy)
    samples: Sequence[tuple[float, int, int, int]]
    utilisation: Sequence[float]
    draw_map: Callable[[Axes], None] | None = None
    target_min: float = 40.0
    max_min: float = 90.0
    notes: list[str] = field(default_factory=list)


def png(figure: plt.Figure) -> str:
    """The figure as a base64 PNG (metadata stripped so the bytes depend on the data only)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=96, bbox_inches="tight",
                   metadata={"Software": None})
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _click_to_door(report: DayReport) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    values = list(report.click_to_door_min)
    if values:
        top = max(max(values), report.max_min) + 5
        ax.hist(values, bins=range(0, int(top) + 2, 2), color="#3b7dd8", edgecolor="white")
    ax.axvline(report.target_min, color="#e08a00", linestyle="--",
               label=f"target {report.target_min:g} min")
    ax.axvline(report.max_min, color="#c0392b", linestyle="--",
               label=f"maximum {report.max_min:g} min")
    ax.set_xlabel("click-to-door (minutes)")
    ax.set_ylabel("orders")
    ax.legend(frameon=False)
    return png(fig)


def _through_the_day(report: DayReport) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if report.samples:
        hours = [s[0] / 3600 for s in report.samples]
        ax.plot(hours, [s[1] for s in report.samples], color="#3b7dd8", label="open orders")
        ax.plot(hours, [s[2] for s in report.samples], color="#999999", label="couriers on shift")
        ax.plot(hours, [s[3] for s in report.samples], color="#27ae60", label="couriers busy")
    ax.set_xlabel("hour of the day")
    ax.legend(frameon=False, loc="upper left")
    return png(fig)


def _utilisation(report: DayReport) -> str:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(list(report.utilisation), bins=[i / 20 for i in range(22)], color="#27ae60",
            edgecolor="white")
    ax.set_xlabel("share of the shift spent driving and handing over")
    ax.set_ylabel("couriers")
    return png(fig)


def _map(report: DayReport) -> str | None:
    if report.draw_map is None:
        return None
    fig, ax = plt.subplots(figsize=(8, 8))
    report.draw_map(ax)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    return png(fig)


def _value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    return html.escape(str(value))


def write_report(report: DayReport, path: Path) -> Path:
    rows = "".join(f"<tr><th>{html.escape(label)}</th><td>{_value(report.kpis.get(key))}</td></tr>"
                   for key, label in KPI_LABELS.items() if key in report.kpis)
    images = [("Click-to-door", _click_to_door(report)),
              ("Open orders and couriers through the day", _through_the_day(report)),
              ("Courier utilisation", _utilisation(report))]
    day_map = _map(report)
    if day_map is not None:
        images.append(("Map of the day", day_map))
    figures = "".join(f'<figure><figcaption>{html.escape(caption)}</figcaption>'
                      f'<img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                      f"</figure>" for caption, data in images)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in report.notes)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(report.title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 980px;
       color: #222; padding: 0 1rem; }}
h1 {{ font-size: 1.5rem; margin-bottom: .2rem; }}
p.sub {{ color: #666; margin-top: 0; }}
table {{ border-collapse: collapse; margin: 1rem 0 2rem; }}
th, td {{ padding: .25rem .8rem; border-bottom: 1px solid #eee; text-align: left; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr));
        gap: 1.2rem; }}
figure {{ margin: 0; }} figcaption {{ font-weight: 600; margin-bottom: .3rem; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{html.escape(report.title)}</h1>
<p class="sub">{html.escape(report.subtitle)}</p>
<table>{rows}</table>
<div class="grid">{figures}</div>
<ul>{notes}</ul>
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page)
    return path
