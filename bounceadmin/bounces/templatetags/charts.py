"""The overview's chart: bounces per day as SVG bars, drawn from selectors.DailyCounts."""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("bounces/_daily_bars.html")
def daily_bars(counts, width: int = 720, height: int = 160) -> dict:
    """Stacked bars, hard below soft, scaled so the peak day leaves 20 px of headroom."""
    scale = (height - 20) / counts.peak if counts.peak else 0
    step = width / len(counts.days) if counts.days else width
    bars = []
    for i, (day, hard, soft) in enumerate(zip(counts.days, counts.hard, counts.soft, strict=True)):
        hard_h, soft_h = hard * scale, soft * scale
        bars.append(
            {
                "x": round(i * step + 1, 1),
                "w": round(max(step - 2, 1), 1),
                "hard_y": round(height - hard_h, 1),
                "hard_h": round(hard_h, 1),
                "soft_y": round(height - hard_h - soft_h, 1),
                "soft_h": round(soft_h, 1),
                "day": day,
                "hard": hard,
                "soft": soft,
            }
        )
    return {"bars": bars, "width": width, "height": height}
