"""Medians, percentiles and the summary of a list of outcomes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from bench.clients import Outcome


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """n, errors, median/p95/mean in ms (over successful calls), output size, first error."""
    ok = [o.seconds * 1000 for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    return {
        "n": len(outcomes),
        "errors": len(errors),
        "median_ms": round(percentile(ok, 50), 2),
        "p95_ms": round(percentile(ok, 95), 2),
        "mean_ms": round(sum(ok) / len(ok), 2) if ok else math.nan,
        "size": max((o.size for o in outcomes if o.ok), default=0),
        "first_error": errors[0].detail if errors else "",
        "truncated": sum(1 for o in outcomes if o.truncated),
    }


def ratio(value: float, base: float) -> float:
    if not base or math.isnan(base) or math.isnan(value):
        return math.nan
    return round(value / base, 3)
