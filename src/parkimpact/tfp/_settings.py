"""Keyword-only settings shared by the production-function estimators."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from numbers import Real
from typing import Literal, TypeVar

from parkimpact.inference.seeds import SeedLike
from parkimpact.tfp._base import Backend, Kind, check_settings

__all__ = [
    "ProductionSettings",
    "ProxySettings",
    "document",
    "COMMON_PARAMETERS",
    "PROXY_PARAMETERS",
]

T = TypeVar("T")

COMMON_PARAMETERS = """\
    output : str
        Log output column (value added or gross output, see ``kind``).
    free : str or sequence of str
        Freely chosen inputs (log labour ...), chosen after productivity is known.
    state : str or sequence of str
        State inputs (log capital ...), chosen a period ahead.
    controls : str or sequence of str, default ()
        Exogenous shifters of the production function (e.g. log R&D capital);
        their coefficients are reported with the inputs.
    kind : {"value_added", "gross_output"}, default "value_added"
        With ``"gross_output"`` the proxy (materials) is also an input.
    log_inputs : bool, default False
        The named output, input and proxy columns hold levels: take logs,
        dropping and reporting non-positive values.
    by : str or None, default None
        Column or panel role (``"industry"``) to estimate one production
        function per group.
    min_firms_per_group : int, default 20
        Smallest group size accepted with ``by``.
    small_groups : {"error", "drop"}, default "error"
        What to do with smaller groups: raise, or drop and report their rows."""

PROXY_PARAMETERS = """\
    proxy : str
        Proxy variable (log investment for Olley-Pakes, log materials otherwise).
    first_stage_degree : int, default 2
        Total degree of the first-stage polynomial (R ``prodest`` 1.0.1: 2).
    law_of_motion_degree : int, default 3
        Degree of the polynomial :math:`g(\\omega_{t-1})` (``prodest``: 3).
    law_of_motion_controls : str or sequence of str, default ()
        Variables whose *lagged* values shift productivity's law of motion,
        :math:`\\omega_t = g(\\omega_{t-1}) + \\gamma' d_{t-1} + \\xi_t`
        (De Loecker 2013): park status (``"in_park"`` is derived from the
        panel's entry role), R&D. Without them, an effect of the park on
        productivity growth is treated as noise and attenuated.
    search_box : (float, float), default (0.0, 1.0)
        Box of the grid over each second-stage coefficient.
    n_grid : int, default 256
        Grid points evaluated before polishing (0: only explicit starts).
    n_polish : int, default 8
        Best grid points polished, besides the first-stage start and ``start``.
    start : sequence of float or None, default None
        An extra starting point for the second-stage coefficients.
    max_evaluations : int, default 500
        Criterion evaluations allowed per polish.
    n_boot : int, default 0
        Firm-cluster bootstrap replications (0: no standard errors). Each
        replication re-runs both stages on resampled firms, polishing from the
        point estimate.
    seed : int, numpy.random.SeedSequence or None, default None
        Seed of the bootstrap (recorded in the result).
    n_jobs : int, default 1
        Bootstrap workers (``-1``: all cores).
    backend : {"loky", "threading", "sequential", "dask"}, default "loky"
        joblib backend of the bootstrap."""


def document(*sections: str) -> Callable[[T], T]:
    """Fill ``{parameters}`` in a class docstring with shared parameter sections."""

    def apply(cls: T) -> T:
        cls.__doc__ = (cls.__doc__ or "").replace("{parameters}", "\n".join(sections))
        return cls

    return apply


@dataclass(frozen=True, kw_only=True)
class ProductionSettings:
    """Settings of every production-function estimator (see the estimators)."""

    output: str
    free: str | Sequence[str] = ()
    state: str | Sequence[str]
    controls: str | Sequence[str] = ()
    kind: Kind = "value_added"
    log_inputs: bool = False
    by: str | None = None
    min_firms_per_group: int = 20
    small_groups: Literal["error", "drop"] = "error"

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True, kw_only=True)
class ProxySettings(ProductionSettings):
    """Settings of the proxy-variable estimators (see the estimators)."""

    proxy: str
    first_stage_degree: int = 2
    law_of_motion_degree: int = 3
    law_of_motion_controls: str | Sequence[str] = ()
    search_box: tuple[float, float] = (0.0, 1.0)
    n_grid: int = 256
    n_polish: int = 8
    start: Sequence[float] | None = None
    max_evaluations: int = 500
    n_boot: int = 0
    seed: SeedLike = None
    n_jobs: int = 1
    backend: Backend = "loky"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.start is not None and not (
            isinstance(self.start, Sequence)
            and all(isinstance(v, Real) and math.isfinite(float(v)) for v in self.start)
        ):
            raise ValueError(
                f"start must be a sequence of finite numbers or None; got {self.start!r}. "
                "Pass one value per second-stage coefficient."
            )

    def _require_value_added(self) -> None:
        if self.kind != "value_added":
            raise ValueError(
                f"kind must be 'value_added' for {type(self).__name__}; got {self.kind!r}. "
                "Proxy methods cannot identify the materials elasticity of gross output: use "
                "GNR, or ACF with kind='gross_output'."
            )
