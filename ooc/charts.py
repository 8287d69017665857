"""Accessible SVG charts drawn on the server: each has a title and a description, and the pages
show the same numbers in a table beside it (WCAG 1.1.1: the table is the text alternative)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 480, 220, 40, 40, 16
COLOURS = {"bar": "#1d70b8", "target": "#d4351c", "axis": "#0b0c0c", "grid": "#b1b4b6"}


def percentage_bars(chart_id: str, title: str, points: Sequence[tuple[str, int | None]],
                    target: float | None = None) -> str:
    """A bar per period (0-100%); a bar with no value (nothing to count, or suppressed) is
    left empty and said so in the description."""
    plot_width, plot_height = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    slot = plot_width / max(len(points), 1)
    parts = [f'<line x1="{LEFT}" y1="{TOP + plot_height}" x2="{WIDTH - 8}" '
             f'y2="{TOP + plot_height}" stroke="{COLOURS["axis"]}"/>']
    for tick in (0, 50, 100):
        y = TOP + plot_height * (1 - tick / 100)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" '
                     f'stroke="{COLOURS["grid"]}" stroke-dasharray="2 3"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                     f'font-size="12">{tick}%</text>')
    for i, (label, value) in enumerate(points):
        x = LEFT + i * slot + slot * 0.2
        if value is not None:
            height = plot_height * value / 100
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_height - height:.1f}" '
                         f'width="{slot * 0.6:.1f}" height="{height:.1f}" '
                         f'fill="{COLOURS["bar"]}"/>'
                         f'<text x="{x + slot * 0.3:.1f}" y="{TOP + plot_height - height - 4:.1f}"'
                         f' text-anchor="middle" font-size="12">{value}%</text>')
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                     f'text-anchor="middle" font-size="12">{escape(label)}</text>')
    if target is not None:
        y = TOP + plot_height * (1 - target / 100)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 8}" y2="{y:.1f}" '
                     f'stroke="{COLOURS["target"]}" stroke-width="2"/>')
    described = "; ".join(f"{label}: {'no figure' if value is None else f'{value}%'}"
                          for label, value in points)
    if target is not None:
        described += f". Target (green) {target:g}%."
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="Arial, sans-serif" '
            f'aria-labelledby="{chart_id}-title {chart_id}-desc" class="ooc-chart">'
            f'<title id="{chart_id}-title">{escape(title)}</title>'
            f'<desc id="{chart_id}-desc">{escape(described)}</desc>' + "".join(parts) + "</svg>")
