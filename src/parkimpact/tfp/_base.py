"""Settings, data preparation, grouping and bootstrap shared by the TFP estimators.

Every estimator of :mod:`parkimpact.tfp` is a frozen dataclass of keyword-only
settings. ``fit(panel)`` runs the same pipeline:

1. :func:`prepare` checks the panel and the named columns, takes logs when
   ``log_inputs=True`` (non-positive values are dropped and reported), drops
   rows with missing or non-finite values (reported) and builds a *canonical
   frame* with fixed column names (``_unit``, ``_time``, ``_y``, ``_f0`` ...),
   sorted by firm and year;
2. the estimator's ``_core(frame, labels, start, multi_start)`` estimates on
   that frame (it never sees a :class:`~parkimpact.FirmPanel`, so the
   firm-cluster bootstrap can call it on resampled frames);
3. :func:`fit_estimator` adds the bootstrap and assembles the result; with
   ``by=...`` it does so per group.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from numbers import Integral, Real
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.data.validation import require_columns
from parkimpact.errors import IdentificationError
from parkimpact.inference import InfluenceFunction, ResampleResult, cluster_bootstrap
from parkimpact.inference.seeds import SeedLike, as_seed_sequence
from parkimpact.tfp._optimize import SearchOutcome
from parkimpact.tfp.results import (
    FirstStageFit,
    GroupedProductionFunctionResult,
    OptimizerDiagnostics,
    ProductionFunctionResult,
)

__all__ = [
    "Kind",
    "Labels",
    "CoreFit",
    "Prepared",
    "prepare",
    "fit_estimator",
    "as_names",
    "check_settings",
]

Kind = Literal["value_added", "gross_output"]
Backend = Literal["loky", "threading", "sequential", "dask"]
_KINDS = ("value_added", "gross_output")
_BACKENDS = ("loky", "threading", "sequential", "dask")


# ----------------------------------------------------------------------------- settings
def as_names(value: object, name: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    """A column name or a sequence of names as a tuple, checked."""
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not all(isinstance(v, str) and v for v in names):
        raise TypeError(
            f"{name} must be a column name or a sequence of column names; got {value!r}. "
            f"Pass e.g. {name}=('log_employment',)."
        )
    if not names and not allow_empty:
        raise ValueError(f"{name} must name at least one column; got none. Name the inputs.")
    if len(set(names)) != len(names):
        raise ValueError(f"{name} must not repeat a column; got {list(names)}. Drop duplicates.")
    return tuple(names)


def _check_int(value: object, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < minimum:
        raise ValueError(
            f"{name} must be an integer of at least {minimum}; got {value!r}. "
            f"Pass e.g. {name}={max(minimum, 1)}."
        )


def _check_choice(value: object, name: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}. "
            "Pick one of those."
        )


def _check_box(value: object, name: str) -> None:
    ok = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, Real) and math.isfinite(float(v)) for v in value)
        and float(value[0]) < float(value[1])
    )
    if not ok:
        raise ValueError(
            f"{name} must be a pair (lower, upper) of finite numbers with lower < upper; got "
            f"{value!r}. Pass e.g. {name}=(0.0, 1.0)."
        )


def check_settings(estimator: object) -> None:
    """Check the settings every estimator shares (called from ``__post_init__``)."""
    values = {f.name: getattr(estimator, f.name) for f in fields(estimator)}  # type: ignore[arg-type]
    for name in ("output", "proxy", "by", "share"):
        if name in values and values[name] is not None and not isinstance(values[name], str):
            raise TypeError(f"{name} must be a column name; got {values[name]!r}. Pass a string.")
    for name in ("free", "state"):
        if name in values:
            as_names(values[name], name, allow_empty=name == "free")
    for name in ("controls", "law_of_motion_controls"):
        if name in values:
            as_names(values[name], name)
    checks: dict[str, Callable[[object, str], None]] = {
        "kind": lambda v, n: _check_choice(v, n, _KINDS),
        "backend": lambda v, n: _check_choice(v, n, _BACKENDS),
        "small_groups": lambda v, n: _check_choice(v, n, ("error", "drop")),
        "search_box": _check_box,
        "translog_box": _check_box,
    }
    minimums = {
        "first_stage_degree": 1,
        "law_of_motion_degree": 1,
        "n_grid": 0,
        "n_polish": 0,
        "max_evaluations": 1,
        "n_boot": 0,
        "min_firms_per_group": 2,
    }
    for name, value in values.items():
        if name in checks:
            checks[name](value, name)
        elif name in minimums:
            _check_int(value, name, minimums[name])
        elif name in ("log_inputs", "exit_correction", "time_effects") and not isinstance(
            value, bool
        ):
            raise TypeError(f"{name} must be True or False; got {value!r}. Pass a bool.")
    if "n_jobs" in values and (
        isinstance(values["n_jobs"], bool)
        or values["n_jobs"] == 0
        or not isinstance(values["n_jobs"], Integral)
    ):
        raise ValueError(
            f"n_jobs must be a non-zero integer; got {values['n_jobs']!r}. Use 1, 2 or -1."
        )


# ----------------------------------------------------------------------------- prepared data
@dataclass(frozen=True)
class Labels:
    """User names of the canonical columns (used to label results)."""

    output: str
    free: tuple[str, ...]
    state: tuple[str, ...]
    proxy: str | None
    controls: tuple[str, ...]
    motion: tuple[str, ...]
    exit: bool = False
    extra: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A checked panel and the canonical frame built from it."""

    panel: FirmPanel
    frame: pd.DataFrame
    labels: Labels
    drops: DropReport
    n_input_rows: int
    keys: pd.DataFrame
    by: str | None


class SupportsCore(Protocol):
    """What :func:`fit_estimator` needs from an estimator."""

    n_boot: int
    seed: SeedLike
    n_jobs: int
    backend: Backend

    def _core(
        self, frame: pd.DataFrame, labels: Labels, start: np.ndarray | None, multi_start: bool
    ) -> CoreFit: ...


@dataclass(frozen=True, eq=False)
class CoreFit:
    """What an estimator's core computes on a canonical frame."""

    method: str
    params: np.ndarray
    names: tuple[str, ...]
    elasticities: pd.Series
    omega: np.ndarray
    omega_shock: np.ndarray
    second_stage: np.ndarray
    first_stage: FirstStageFit | None = None
    law_of_motion: pd.Series | None = None
    search: SearchOutcome | None = None
    search_names: tuple[str, ...] = ()
    vcov: np.ndarray | None = None
    influence: InfluenceFunction | None = None
    se_type: str = "none"
    notes: tuple[str, ...] = ()
    extra: dict[str, float] = field(default_factory=dict)


def block(frame: pd.DataFrame, prefix: str, count: int) -> np.ndarray:
    """Columns ``prefix0 .. prefix{count-1}`` of the canonical frame as an ``(n, count)`` array."""
    if count == 0:
        return np.empty((len(frame), 0))
    return frame[[f"{prefix}{i}" for i in range(count)]].to_numpy(dtype=float)


def _resolve_derived(panel: FirmPanel, names: Sequence[str]) -> FirmPanel:
    """Add ``in_park`` from the entry role when it is named but not a column."""
    data_columns = set(panel.data.columns)
    if "in_park" in names and "in_park" not in data_columns and panel.roles.entry is not None:
        return panel.assign(in_park=panel.in_park().to_numpy(dtype=float))
    return panel


def _drop_nonfinite(panel: FirmPanel, columns: Sequence[str]) -> FirmPanel:
    for column in columns:
        values = pd.to_numeric(panel.data[column], errors="coerce").to_numpy(dtype=float)
        panel = panel.drop_rows(
            ~np.isfinite(values), step="tfp", reason=f"missing or non-finite {column}"
        )
    return panel


def _zero_investment(panel: FirmPanel, proxy: str, levels: bool) -> FirmPanel:
    values = pd.to_numeric(panel.data[proxy], errors="coerce").to_numpy(dtype=float)
    zero = values <= 0 if levels else np.isneginf(values)
    return panel.drop_rows(
        zero,
        step="olley_pakes",
        reason=f"zero investment ({proxy}): Olley-Pakes inverts investment only where it is "
        "positive",
    )


def prepare(
    panel: object, estimator: Any, *, zero_proxy: bool = False, extra: Sequence[str] = ()
) -> Prepared:
    """Check ``panel``, apply logs and drops, and build the canonical frame."""
    if not isinstance(panel, FirmPanel):
        raise TypeError(
            f"panel must be a FirmPanel; got {type(panel).__name__}. Build one with "
            "parkimpact.FirmPanel(data, unit=..., time=...)."
        )
    get = lambda name, default=(): getattr(estimator, name, default)  # noqa: E731
    labels = Labels(
        output=estimator.output,
        free=as_names(get("free"), "free"),
        state=as_names(get("state"), "state", allow_empty=False),
        proxy=get("proxy", None),
        controls=as_names(get("controls"), "controls"),
        motion=as_names(get("law_of_motion_controls"), "law_of_motion_controls"),
        exit=bool(get("exit_correction", False)),
        extra=tuple(extra),
    )
    roles = panel.roles
    by = None if get("by", None) is None else roles.declared().get(estimator.by, estimator.by)
    panel = _resolve_derived(panel, labels.controls + labels.motion)
    logged = [labels.output, *labels.free, *labels.state] + ([labels.proxy] if labels.proxy else [])
    others = [*labels.controls, *labels.motion, *labels.extra]
    require_columns(panel.data, logged + others + ([by] if by else []), "panel")
    keys = panel.data[[roles.unit, roles.time]].reset_index(drop=True)
    n_input = panel.n_obs
    panel = panel.assign(_row=np.arange(n_input), _exit=_exit_flags(panel))
    if zero_proxy and labels.proxy:
        panel = _zero_investment(panel, labels.proxy, levels=get("log_inputs", False))
    if get("log_inputs", False):
        panel = panel.log(logged, zeros="drop")
        labels = _logged_labels(labels)
        logged = ["log_" + c for c in logged]
    panel = _drop_nonfinite(panel, logged + others)
    frame = _canonical(panel, labels, by)
    return Prepared(panel, frame, labels, panel.drops, n_input, keys, by)


def _exit_flags(panel: FirmPanel) -> np.ndarray:
    data = panel.data
    unit, time = data[panel.roles.unit].to_numpy(), data[panel.roles.time].to_numpy()
    last = np.ones(len(unit), dtype=bool)
    last[:-1] = unit[1:] != unit[:-1]
    return (last & (time < time.max())).astype(float)


def _logged_labels(labels: Labels) -> Labels:
    log = lambda c: "log_" + c  # noqa: E731
    return Labels(
        output=log(labels.output),
        free=tuple(map(log, labels.free)),
        state=tuple(map(log, labels.state)),
        proxy=None if labels.proxy is None else log(labels.proxy),
        controls=labels.controls,
        motion=labels.motion,
        exit=labels.exit,
        extra=labels.extra,
    )


def _canonical(panel: FirmPanel, labels: Labels, by: str | None) -> pd.DataFrame:
    data = panel.data
    roles = panel.roles
    columns: dict[str, Any] = {
        "_unit": data[roles.unit].to_numpy(),
        "_time": data[roles.time].to_numpy(dtype=np.int64),
        "_y": data[labels.output].to_numpy(dtype=float),
        "_row": data["_row"].to_numpy(dtype=np.int64),
        "_exit": data["_exit"].to_numpy(dtype=float),
    }
    groups = {
        "_f": labels.free,
        "_s": labels.state,
        "_c": labels.controls,
        "_g": labels.motion,
        "_x": labels.extra,
    }
    for prefix, names in groups.items():
        for i, name in enumerate(names):
            columns[f"{prefix}{i}"] = pd.to_numeric(data[name]).to_numpy(dtype=float)
    if labels.proxy:
        columns["_m"] = data[labels.proxy].to_numpy(dtype=float)
    if by:
        columns["_group"] = data[by].astype(str).to_numpy()
    return pd.DataFrame(columns)


# ----------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class _Replicate:
    """One bootstrap replication: the estimator's core polished from the point estimate.

    ``start`` holds the second-stage search parameters at the point estimate
    (for GNR the polynomial coefficients, not the reported elasticities).
    """

    estimator: Any
    labels: Labels
    start: np.ndarray

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        core = self.estimator._core(frame, self.labels, self.start, False)
        return np.concatenate([core.params, _motion_controls(core, self.labels)])


def _motion_controls(core: CoreFit, labels: Labels) -> np.ndarray:
    """Law-of-motion coefficients of the lagged controls (bootstrapped with the params)."""
    if not labels.motion or core.law_of_motion is None:
        return np.empty(0)
    return core.law_of_motion[[f"lag {name}" for name in labels.motion]].to_numpy()


def _bootstrap(
    estimator: SupportsCore, frame: pd.DataFrame, labels: Labels, core: CoreFit, seed: SeedLike
) -> ResampleResult:
    start = core.params if core.search is None else core.search.params
    statistic = _Replicate(estimator, labels, np.asarray(start))
    return cluster_bootstrap(
        statistic,
        frame,
        cluster="_unit",
        relabel="_unit",
        n_boot=estimator.n_boot,
        seed=seed,
        n_jobs=estimator.n_jobs,
        backend=estimator.backend,
    )


def _second_stage_drops(frame: pd.DataFrame, core: CoreFit, drops: DropReport) -> DropReport:
    used = core.second_stage
    if used.all():
        return drops
    sizes = frame.groupby("_unit", sort=False)["_unit"].transform("size").to_numpy()
    out = drops.with_rows_in("second_stage", len(frame)).with_kept("second_stage", int(used.sum()))
    single = ~used & (sizes == 1)
    other = ~used & (sizes > 1)
    for mask, reason, warn in (
        (single, "firm observed only once: no lag for the law of motion", True),
        (other, "no previous year (first year of the firm or a gap in its years)", False),
    ):
        if mask.any():
            out = out.record(
                "second_stage",
                "lag",
                reason,
                unit=frame["_unit"].to_numpy()[mask],
                time=frame["_time"].to_numpy()[mask],
                warn=warn,
            )
    return out


def _aligned(values: np.ndarray, rows: np.ndarray, n: int, name: str) -> pd.Series:
    out = np.full(n, np.nan)
    out[rows] = values
    return pd.Series(out, name=name)


def _bootstrap_covariance(
    boot: ResampleResult, k: int, labels: Labels
) -> tuple[np.ndarray, pd.Series | None]:
    """Covariance of the params and SEs of the law-of-motion controls from the draws."""
    usable = boot.estimates[np.isfinite(boot.estimates).all(axis=1)]
    vcov = np.cov(usable[:, :k], rowvar=False).reshape(k, k)
    if usable.shape[1] == k:
        return vcov, None
    names = [f"lag {name}" for name in labels.motion]
    errors = pd.Series(usable[:, k:].std(axis=0, ddof=1), index=names, name="std_error")
    return vcov, errors


def _assemble(
    estimator: Any,
    prepared: Prepared,
    frame: pd.DataFrame,
    core: CoreFit,
    boot: ResampleResult | None,
) -> ProductionFunctionResult:
    params = pd.Series(core.params, index=list(core.names), name="estimate")
    vcov, se_type, motion_errors = core.vcov, core.se_type, None
    if boot is not None:
        vcov, motion_errors = _bootstrap_covariance(boot, len(params), prepared.labels)
        se_type = f"firm-cluster bootstrap, {boot.n_boot} draws, seed {boot.seed}"
    errors = np.sqrt(np.clip(np.diag(vcov), 0, None)) if vcov is not None else np.nan
    rows = frame["_row"].to_numpy()
    n = prepared.n_input_rows
    optimizer = None
    if core.search is not None:
        s = core.search
        optimizer = OptimizerDiagnostics(
            s.criterion, s.solutions, s.polishes, s.n_grid, s.tie, core.search_names
        )
    return ProductionFunctionResult(
        method=core.method,
        params=params,
        std_errors=pd.Series(errors, index=params.index, name="std_error"),
        vcov=None if vcov is None else pd.DataFrame(vcov, index=params.index, columns=params.index),
        elasticities=core.elasticities,
        returns_to_scale=float(core.elasticities.sum()),
        tfp=_aligned(core.omega, rows, n, "tfp"),
        tfp_with_shock=_aligned(core.omega_shock, rows, n, "tfp_with_shock"),
        first_stage=core.first_stage,
        law_of_motion=core.law_of_motion,
        law_of_motion_std_errors=motion_errors,
        criterion=None if core.search is None else core.search.criterion,
        optimizer=optimizer,
        bootstrap=boot,
        influence=core.influence,
        drops=_second_stage_drops(frame, core, prepared.drops),
        settings=MappingView(asdict(estimator)),
        n_obs=len(frame),
        n_firms=int(frame["_unit"].nunique()),
        n_second_stage=int(core.second_stage.sum()),
        fingerprint=prepared.panel.fingerprint(),
        se_type=se_type,
        dependent=prepared.labels.output,
        keys=prepared.keys,
        notes=core.notes + (f"parkimpact {__version__}",),
    )


class MappingView(dict):  # type: ignore[type-arg]
    """A read-only dict of settings."""

    def __setitem__(self, key: object, value: object) -> None:
        raise TypeError("settings are read-only")


def _fit_frame(
    estimator: Any, prepared: Prepared, frame: pd.DataFrame, seed: SeedLike
) -> ProductionFunctionResult:
    frame = frame.reset_index(drop=True)
    core = estimator._core(frame, prepared.labels, None, True)
    n_boot = getattr(estimator, "n_boot", 0)
    boot = _bootstrap(estimator, frame, prepared.labels, core, seed) if n_boot else None
    return _assemble(estimator, prepared, frame, core, boot)


def fit_estimator(
    estimator: Any, panel: object, *, zero_proxy: bool = False, extra: Sequence[str] = ()
) -> ProductionFunctionResult | GroupedProductionFunctionResult:
    """The shared ``fit``: prepare, estimate (per group with ``by``), bootstrap, assemble."""
    prepared = prepare(panel, estimator, zero_proxy=zero_proxy, extra=extra)
    seed = getattr(estimator, "seed", None)
    if getattr(estimator, "n_boot", 0) and seed is None:
        seed = int(as_seed_sequence(None).entropy % (2**63))
    if prepared.by is None:
        return _fit_frame(estimator, prepared, prepared.frame, seed)
    return _fit_groups(estimator, prepared, seed)


def _fit_groups(
    estimator: Any, prepared: Prepared, seed: SeedLike
) -> GroupedProductionFunctionResult:
    frame = prepared.frame
    firms = frame.groupby("_group")["_unit"].nunique()
    small = firms[firms < estimator.min_firms_per_group]
    drops = prepared.drops
    if len(small) and estimator.small_groups == "error":
        listed = ", ".join(f"{g!r} ({n})" for g, n in small.items())
        raise IdentificationError(
            f"each {prepared.by} must have at least {estimator.min_firms_per_group} firms for "
            f"by={estimator.by!r}; got {len(small)} smaller group(s): {listed}. Merge small "
            "groups, lower min_firms_per_group or pass small_groups='drop'."
        )
    if len(small):
        gone = frame["_group"].isin(small.index).to_numpy()
        drops = drops.record(
            "panel",
            "by",
            f"{prepared.by} with fewer than {estimator.min_firms_per_group} firms",
            unit=frame["_unit"].to_numpy()[gone],
            time=frame["_time"].to_numpy()[gone],
        )
        frame = frame.loc[~gone]
    groups = sorted(frame["_group"].unique())
    n_boot = getattr(estimator, "n_boot", 0)
    children = as_seed_sequence(seed).spawn(len(groups)) if n_boot else [None] * len(groups)
    results = {
        g: _fit_frame(estimator, prepared, frame.loc[frame["_group"] == g], child)
        for g, child in zip(groups, children, strict=True)
    }
    tfp = np.full(prepared.n_input_rows, np.nan)
    shock = tfp.copy()
    for result in results.values():
        for target, values in ((tfp, result.tfp), (shock, result.tfp_with_shock)):
            known = values.notna().to_numpy()
            target[known] = values.to_numpy()[known]
    return GroupedProductionFunctionResult(
        by=prepared.by or "group",
        results=results,
        tfp=pd.Series(tfp, name="tfp"),
        tfp_with_shock=pd.Series(shock, name="tfp_with_shock"),
        keys=prepared.keys,
        drops=drops,
    )
