"""Small inline-SVG charts for the HTML report: no JavaScript, no network, and the browser draws the Chinese text."""

from __future__ import annotations

import html

WIDTH, HEIGHT, PAD = 520, 280, 48
COLOURS = ("#1F4E79", "#E07B39", "#4C9A2A", "#8E44AD")


def _frame(title: str, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{html.escape(title)}"><text x="{WIDTH / 2}" y="20" text-anchor="middle" '
        f'font-size="15" font-weight="bold">{html.escape(title)}</text>{body}</svg>'
    )


def bar_chart(title: str, labels: list[str], values: list[float], unit: str = "", horizontal: bool = False) -> str:
    if not values:
        return _frame(title, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">无数据</text>')
    top = max(max(values), 1e-9)
    parts = []
    if horizontal:
        step = (HEIGHT - PAD) / len(values)
        for index, (label, value) in enumerate(zip(labels, values, strict=True)):
            y = 30 + index * step
            length = (WIDTH - 160) * max(value, 0) / top
            parts.append(
                f'<text x="96" y="{y + step * 0.6:.1f}" text-anchor="end" font-size="11">'
                f'{html.escape(label)}</text><rect x="100" y="{y:.1f}" width="{length:.1f}" '
                f'height="{step * 0.7:.1f}" fill="{COLOURS[0]}"/><text x="{104 + length:.1f}" '
                f'y="{y + step * 0.6:.1f}" font-size="11">{value:.1f}{unit}</text>'
            )
    else:
        step = (WIDTH - 2 * PAD) / len(values)
        for index, (label, value) in enumerate(zip(labels, values, strict=True)):
            x = PAD + index * step
            height = (HEIGHT - 2 * PAD - 10) * max(value, 0) / top
            y = HEIGHT - PAD - height
            parts.append(
                f'<rect x="{x + step * 0.15:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{height:.1f}"'
                f' fill="{COLOURS[0]}"/><text x="{x + step / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
                f'font-size="11">{value:.1f}{unit}</text><text x="{x + step / 2:.1f}" '
                f'y="{HEIGHT - PAD + 16}" text-anchor="middle" font-size="11">{html.escape(label)}</text>'
            )
        parts.append(f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>')
    return _frame(title, "".join(parts))


def line_chart(title: str, labels: list[str], series: dict[str, list[float]]) -> str:
    values = [v for points in series.values() for v in points]
    if not values:
        return _frame(title, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">无数据</text>')
    top = max(max(values), 1e-9)
    step = (WIDTH - 2 * PAD) / max(len(labels) - 1, 1)
    parts = [f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#333"/>']
    for index, label in enumerate(labels):
        parts.append(
            f'<text x="{PAD + index * step:.1f}" y="{HEIGHT - PAD + 16}" text-anchor="middle" '
            f'font-size="10">{html.escape(label)}</text>'
        )
    for number, (name, points) in enumerate(series.items()):
        colour = COLOURS[number % len(COLOURS)]
        coordinates = " ".join(
            f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD - 10) * v / top:.1f}" for i, v in enumerate(points)
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coordinates}"/>'
            f'<text x="{WIDTH - PAD - 60}" y="{40 + number * 16}" fill="{colour}" font-size="12">'
            f"■ {html.escape(name)}</text>"
        )
    return _frame(title, "".join(parts))
