"""Small server-rendered SVG charts for the metrics page (no chart library, no script): each has a <title>
and a <desc> (read by screen readers) and the numbers are also in the page's tables and the CSV."""
from __future__ import annotations

from html import escape

ROW, LABEL_W, BAR_W, PAD = 22, 190, 360, 8
COLOURS = {"approved": "#2e7d32", "edited": "#f9a825", "rejected": "#c62828", "bar": "#1565c0", "decided": "#90caf9"}


def stacked_bars(title: str, rows: list[tuple[str, dict[str, int]]], parts=("approved", "edited", "rejected")) -> str:
    """One horizontal bar per row, split into `parts` (shares of the row's total), the acceptance at the end."""
    height = PAD * 2 + ROW * max(1, len(rows)) + 24
    width = LABEL_W + BAR_W + 90
    out = [_open(width, height, title, f"{len(rows)} rows; shares of {', '.join(parts)}")]
    for i, (label, values) in enumerate(rows):
        y = PAD + i * ROW
        total = sum(values.get(p, 0) for p in parts)
        out.append(_text(LABEL_W - 6, y + 15, label[:28], anchor="end"))
        x = float(LABEL_W)
        for p in parts:
            w = BAR_W * values.get(p, 0) / total if total else 0
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" fill="{COLOURS[p]}">'
                           f'<title>{escape(label)}: {values.get(p, 0)} {p}</title></rect>')
            x += w
        rate = f"{100 * values.get('approved', 0) / total:.0f}% of {total}" if total else "none decided"
        out.append(_text(LABEL_W + BAR_W + 6, y + 15, rate))
    out.append(_legend(PAD + ROW * max(1, len(rows)) + 4, parts))
    out.append("</svg>")
    return "".join(out)


def columns(title: str, points: list[tuple[str, int, int]]) -> str:
    """Suggested (dark) and decided (light, in front) per day."""
    width, height, base = 640, 220, 180
    top = max([n for _, n, _ in points] or [1]) or 1
    step = min(40.0, (width - 60) / max(1, len(points)))
    out = [_open(width, height, title, f"{len(points)} days; suggestions per day, decided among them")]
    out.append(_text(4, 14, f"max {top}"))
    for i, (day, n, k) in enumerate(points):
        x = 50 + i * step
        h, hk = 150 * n / top, 150 * k / top
        out.append(f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{max(1.0, step * 0.8):.1f}" height="{h:.1f}" fill="{COLOURS["bar"]}">'
                   f'<title>{escape(day)}: {n} suggested, {k} decided</title></rect>')
        out.append(f'<rect x="{x:.1f}" y="{base - hk:.1f}" width="{max(1.0, step * 0.8):.1f}" height="{hk:.1f}" fill="{COLOURS["decided"]}"/>')
    if points:
        out.append(_text(50, base + 16, points[0][0]))
        out.append(_text(width - 10, base + 16, points[-1][0], anchor="end"))
    out.append(_legend(base + 22, ("bar", "decided"), names={"bar": "suggested", "decided": "decided"}))
    out.append("</svg>")
    return "".join(out)


def histogram(title: str, buckets: list[tuple[str, int]]) -> str:
    rows = [(label, {"bar": n}) for label, n in buckets]
    top = max([n for _, n in buckets] or [1]) or 1
    height = PAD * 2 + ROW * max(1, len(rows))
    out = [_open(LABEL_W + BAR_W + 60, height, title, "lines decided, by time from suggestion to decision")]
    for i, (label, values) in enumerate(rows):
        y = PAD + i * ROW
        w = BAR_W * values["bar"] / top
        out.append(_text(LABEL_W - 6, y + 15, label, anchor="end"))
        out.append(f'<rect x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW - 6}" fill="{COLOURS["bar"]}"/>')
        out.append(_text(LABEL_W + w + 6, y + 15, str(values["bar"])))
    out.append("</svg>")
    return "".join(out)


def _open(width: int, height: int, title: str, desc: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" font-family="system-ui, sans-serif" font-size="12"><title>{escape(title)}</title>'
            f'<desc>{escape(desc)}</desc>')


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="#222">{escape(text)}</text>'


def _legend(y: float, parts, names: dict | None = None) -> str:
    out, x = [], float(LABEL_W)
    for p in parts:
        out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="10" height="10" fill="{COLOURS[p]}"/>')
        label = (names or {}).get(p, p)
        out.append(_text(x + 14, y + 9, label))
        x += 20 + 7 * len(label)
    return "".join(out)
