"""Server-rendered SVG bar charts (no JavaScript, no build step)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Bar:
    label: str
    ok: int
    failed: int


def stacked_bars(bars: Sequence[Bar], *, ok_label: str, failed_label: str, width: int = 640) -> str:
    """A stacked bar chart (synced below, failed on top) as inline SVG."""
    height, top, bottom, left = 180, 16, 34, 36
    plot_h = height - top - bottom
    peak = max([b.ok + b.failed for b in bars] + [1])
    step = (width - left - 8) / max(len(bars), 1)
    bar_w = max(step * 0.7, 2)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" data-peak="{peak}">',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10">0</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 4}" y2="{top + plot_h}" '
        'stroke="#999"/>',
    ]
    label_every = max(1, len(bars) // 12)
    for i, bar in enumerate(bars):
        x = left + i * step + (step - bar_w) / 2
        ok_h = plot_h * bar.ok / peak
        failed_h = plot_h * bar.failed / peak
        base = top + plot_h
        title = f"{escape(bar.label)}: {ok_label} {bar.ok}, {failed_label} {bar.failed}"
        parts.append(f"<g><title>{title}</title>")
        if bar.ok:
            parts.append(
                f'<rect class="ok" x="{x:.1f}" y="{base - ok_h:.1f}" width="{bar_w:.1f}" '
                f'height="{ok_h:.1f}" fill="#4caf50"/>'
            )
        if bar.failed:
            parts.append(
                f'<rect class="failed" x="{x:.1f}" y="{base - ok_h - failed_h:.1f}" '
                f'width="{bar_w:.1f}" height="{failed_h:.1f}" fill="#e53935"/>'
            )
        parts.append("</g>")
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 14}" font-size="10" '
                f'text-anchor="middle">{escape(bar.label)}</text>'
            )
    parts.append(
        f'<rect x="{left}" y="{height - 12}" width="10" height="10" fill="#4caf50"/>'
        f'<text x="{left + 14}" y="{height - 3}" font-size="11">{escape(ok_label)}</text>'
        f'<rect x="{left + 110}" y="{height - 12}" width="10" height="10" fill="#e53935"/>'
        f'<text x="{left + 124}" y="{height - 3}" font-size="11">{escape(failed_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
