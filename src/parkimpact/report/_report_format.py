"""Numbers and plain-language wording shared by the sections of the run report."""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from parkimpact.report._report_doc import Card
from parkimpact.report._report_inputs import RunOutputs

__all__ = [
    "OutcomeInfo",
    "outcome_info",
    "is_missing",
    "as_float",
    "as_bool",
    "digits_for",
    "fmt",
    "fmt_signed",
    "fmt_count",
    "fmt_interval",
    "fmt_percent",
    "text",
    "config_settings",
    "setting",
    "effect_card",
    "effect_sentence",
]

Scale = Literal["log", "level"]


@dataclass(frozen=True)
class OutcomeInfo:
    """How an outcome is named and read: its label and whether it is in logs."""

    label: str
    scale: Scale


_OUTCOMES: Mapping[str, OutcomeInfo] = {
    "tfp": OutcomeInfo("Total factor productivity (log TFP)", "log"),
    "log_rd": OutcomeInfo("R&D spending, log(1 + R&D)", "log"),
    "phd": OutcomeInfo("PhD employees", "level"),
    "patents": OutcomeInfo("Patent applications", "level"),
    "patents_cw": OutcomeInfo("Citation-weighted patents", "level"),
}


def outcome_info(outcome: str) -> OutcomeInfo:
    """Label and scale of an outcome (names starting ``log_`` are in logs)."""
    if outcome in _OUTCOMES:
        return _OUTCOMES[outcome]
    scale: Scale = "log" if outcome.startswith("log_") else "level"
    return OutcomeInfo(outcome.replace("_", " "), scale)


def is_missing(value: object) -> bool:
    """True for None, NaN, pandas NA and empty text."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_float(value: object) -> float:
    """A finite float, or NaN for missing or non-numeric cells."""
    if is_missing(value) or isinstance(value, bool):
        return math.nan
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def as_bool(value: object) -> bool | None:
    """Read ``True``/``False`` cells (also as text or 0/1); None when missing."""
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "1", "1.0", "yes"):
        return True
    if lowered in ("false", "0", "0.0", "no"):
        return False
    return None


def digits_for(values: Iterable[object]) -> int:
    """Decimals that suit the largest absolute value among ``values``."""
    finite = [abs(v) for v in map(as_float, values) if not math.isnan(v)]
    biggest = max(finite, default=0.0)
    if biggest >= 1000:
        return 0
    if biggest >= 100:
        return 1
    if biggest >= 10:
        return 2
    return 3


def fmt(value: object, digits: int | None = None) -> str:
    """A number with ``digits`` decimals (chosen from its size when None); '' if missing."""
    x = as_float(value)
    if math.isnan(x):
        return ""
    d = digits_for([x]) if digits is None else digits
    out = f"{x:,.{d}f}"
    if out.startswith("-") and float(out.replace(",", "")) == 0.0:
        out = out[1:]
    return out


def fmt_signed(value: object, digits: int | None = None) -> str:
    """Like :func:`fmt` with an explicit ``+`` on positive values."""
    out = fmt(value, digits)
    return "+" + out if out and not out.startswith("-") and as_float(value) > 0 else out


def fmt_count(value: object) -> str:
    """An integer count with thousands separators; '' if missing."""
    x = as_float(value)
    return "" if math.isnan(x) else f"{int(round(x)):,}"


def fmt_interval(low: object, high: object, digits: int | None = None) -> str:
    """``low to high``, or '' when either end is missing."""
    lo, hi = as_float(low), as_float(high)
    if math.isnan(lo) or math.isnan(hi):
        return ""
    d = digits_for([lo, hi]) if digits is None else digits
    return f"{fmt(lo, d)} to {fmt(hi, d)}"


def fmt_percent(value: object, digits: int = 1, signed: bool = False) -> str:
    """A share as a percentage (0.354 -> ``35.4%``); '' if missing."""
    x = as_float(value)
    if math.isnan(x):
        return ""
    out = f"{100 * x:.{digits}f}%"
    return "+" + out if signed and x > 0 else out


def text(value: object) -> str:
    """A cell as display text ('' when missing; integral floats without ``.0``)."""
    if is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def config_settings(outputs: RunOutputs) -> Mapping[str, Any]:
    """The run's configuration as a mapping (empty when absent or not valid TOML)."""
    source = outputs.run_info.get("config")
    if not isinstance(source, str):
        return {}
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError:
        return {}


def setting(settings: Mapping[str, Any], section: str, key: str) -> Any:
    """``settings[section][key]`` or None."""
    block = settings.get(section)
    return block.get(key) if isinstance(block, Mapping) else None


def _verdict(low: float, high: float) -> tuple[str, Literal["positive", "negative", "neutral"]]:
    if math.isnan(low) or math.isnan(high):
        return "No interval available", "neutral"
    if low > 0:
        return "Positive: the 95% interval excludes zero", "positive"
    if high < 0:
        return "Negative: the 95% interval excludes zero", "negative"
    return "Inconclusive: the 95% interval includes zero", "neutral"


def effect_card(outcome: str, estimand: str, row: Mapping[str, object]) -> Card:
    """A headline card for one outcome and estimand (``simple`` or ``proportional``)."""
    info = outcome_info(outcome)
    est, low, high = (as_float(row.get(k)) for k in ("estimate", "conf_low", "conf_high"))
    verdict, tone = _verdict(low, high)
    if estimand == "proportional":
        title = f"{info.label}, relative to the counterfactual"
        value = fmt_percent(est, signed=True)
        interval = f"95% CI {fmt_percent(low)} to {fmt_percent(high)}"
    else:
        d = digits_for([est, low, high])
        title = info.label if estimand == "simple" else f"{info.label} ({estimand})"
        value = fmt_signed(est, d)
        interval = f"95% CI {fmt_interval(low, high, d)}" if not math.isnan(low) else ""
    return Card(title=title, value=value, interval=interval, verdict=verdict, tone=tone)


def effect_sentence(outcome: str, estimand: str, row: Mapping[str, object]) -> str:
    """The effect of park entry on one outcome in plain words."""
    info = outcome_info(outcome)
    est, low, high = (as_float(row.get(k)) for k in ("estimate", "conf_low", "conf_high"))
    if math.isnan(est):
        return f"{info.label}: no estimate."
    more = "more" if est > 0 else "less"
    if estimand == "proportional":
        size = f"{fmt_percent(abs(est))} {more} for tenants than without park entry"
        ci = f"95% CI {fmt_percent(low)} to {fmt_percent(high)}"
    elif info.scale == "log":
        d = digits_for([est, low, high])
        approx = fmt_percent(math.expm1(est), signed=True)
        higher = "higher" if est > 0 else "lower"
        size = f"{fmt(abs(est), d)} log points {higher} for tenants (about {approx}) than "
        size += "without park entry"
        ci = f"95% CI {fmt_interval(low, high, d)} log points"
    else:
        d = digits_for([est, low, high])
        size = f"{fmt(abs(est), d)} {more} per tenant firm and year than without park entry"
        ci = f"95% CI {fmt_interval(low, high, d)}"
    if math.isnan(low) or math.isnan(high):
        reading = "No interval is available."
    elif low > 0 or high < 0:
        reading = "The interval excludes zero."
    else:
        reading = "The interval includes zero, so the data cannot rule out no effect."
    return f"{info.label}: {size} ({ci}). {reading}"
