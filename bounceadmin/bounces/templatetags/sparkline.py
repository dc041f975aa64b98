"""A subuser's two weeks of bounces as a small inline SVG line (no script, no library), its days
with an alert marked; the numbers in its label for screen readers and in its tooltip."""

from __future__ import annotations

from django import template

register = template.Library()

WIDTH, HEIGHT, PAD = 112, 24, 3


@register.inclusion_tag("bounces/_sparkline.html")
def sparkline(line, name: str) -> dict:
    n = len(line.days)
    peak = max(line.counts, default=0)
    step = (WIDTH - 2 * PAD) / (n - 1) if n > 1 else 0
    # The baseline at the bottom, the peak at the top: a line of zeros lies flat along the bottom.
    span = HEIGHT - 2 * PAD

    def y(count: int) -> float:
        return round(HEIGHT - PAD - (count / peak * span if peak else 0), 1)

    points = [(round(PAD + i * step, 1), y(c)) for i, c in enumerate(line.counts)]
    marks = [
        {"x": x, "y": py, "band_x": round(x - 2, 1), "day": day}
        for (x, py), day in zip(points, line.days, strict=True)
        if day in line.alerted
    ]
    numbers = ", ".join(f"{_day(d)}: {c}" for d, c in zip(line.days, line.counts, strict=True))
    alerted = ", ".join(_day(d) for d in sorted(line.alerted))
    label = f"{name}: bounces per day over the last {n} days: {numbers}"
    if alerted:
        label += f". Alerts on {alerted}"
    return {
        "points": " ".join(f"{x},{py}" for x, py in points),
        "marks": marks,
        "label": label,
        "width": WIDTH,
        "height": HEIGHT,
        "total": line.total,
        "peak": peak,
    }


def _day(day) -> str:
    return f"{day:%b} {day.day}"
