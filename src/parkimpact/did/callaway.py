r"""Callaway and Sant'Anna (2021) group-time average treatment effects of park entry.

For entry cohort :math:`g` (firms whose first park entry is in year :math:`g`)
and year :math:`t`,

.. math::

    ATT(g, t) = E[Y_t(g) - Y_t(\infty) \mid G = g],

identified under parallel trends (conditional on covariates :math:`X`) by a
2x2 DiD between cohort :math:`g` and a comparison group over the base year
:math:`b` and :math:`t`:

.. math::

    ATT(g, t) = E[Y_t - Y_b \mid G = g]
        - E\Big[\frac{p_{g}(X)\,C}{1 - p_{g}(X)}(Y_t - Y_b)\Big] \Big/
          E\Big[\frac{p_{g}(X)\,C}{1 - p_{g}(X)}\Big]

(inverse probability weighting form; the doubly robust default adds an
outcome regression, see :mod:`parkimpact.did.drdid`), with :math:`C` the
comparison indicator (never-treated, or not yet treated by
:math:`\max(t, b) + \delta`) and :math:`p_g(X) = P(G = g \mid X, G = g
\text{ or } C = 1)`. Conventions follow R ``did`` 2.x ``att_gt``: see
:mod:`parkimpact.did._cs_cells` for cells, base years and comparison groups.
Aggregations (simple, dynamic, group, calendar) are in
:mod:`parkimpact.did.aggregation`.

Reference: Callaway, B. and Sant'Anna, P. H. C. (2021), "Difference-in-Differences
with multiple time periods", *Journal of Econometrics* 225(2), 200-230.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, asdict, dataclass
from numbers import Integral, Real
from types import MappingProxyType
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from parkimpact._version import __version__
from parkimpact.data.panel import FirmPanel
from parkimpact.did._cs_cells import WidePanel, plan_cells, to_wide
from parkimpact.did._cs_estimate import (
    CellEstimates,
    CellsWithoutControlsWarning,
    SeparatedCellsWarning,
    estimate_cells,
    estimate_subgroups,
    warn_cells_not_estimated,
)
from parkimpact.did._cs_prepare import PreparedData, prepare_panel
from parkimpact.did.cs_results import (
    PRETEST_FIRMS_PER_CELL,
    GroupTimeATT,
    InferenceSettings,
    thin_blas,
)
from parkimpact.errors import OverlapWarning
from parkimpact.inference import FEW_CLUSTERS, FewClustersWarning, InfluenceFunction, WaldTest
from parkimpact.inference.seeds import as_seed_sequence, recorded_seed

__all__ = [
    "CallawaySantAnna",
    "CellsWithoutControlsWarning",
    "SeparatedCellsWarning",
    "PRETEST_FIRMS_PER_CELL",
]

ControlGroup = Literal["never_treated", "not_yet_treated"]
MethodName = Literal["dr", "dr_improved", "ipw", "reg"]
BasePeriod = Literal["varying", "universal"]
InferenceKind = Literal["analytic", "bootstrap", "none"]
BootstrapWeights = Literal["rademacher", "mammen", "webb"]


def _choice(name: str, value: object, literal: Any) -> None:
    options = get_args(literal)
    if value not in options:
        raise ValueError(
            f"The '{name}' parameter of CallawaySantAnna must be one of {options}. "
            f"Got {value!r} instead."
        )


def _optional_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a column name or None; got {value!r}.")


@dataclass(frozen=True)
class CallawaySantAnna:
    r"""Group-time ATTs of park entry (Callaway and Sant'Anna 2021) with DR 2x2 DiDs.

    Each :math:`ATT(g, t)` is a 2x2 DiD of cohort :math:`g` against the
    comparison firms between base year :math:`b` and year :math:`t` (see
    :mod:`parkimpact.did.drdid` for the estimators). Its influence function
    on the :math:`n` firms is :math:`\psi_i = (n / n_{gt})\psi^{gt}_i` for the
    :math:`n_{gt}` firms of the cell (0 otherwise) and
    :math:`\widehat{\mathrm{Var}} = n^{-2}\sum_i \psi_i\psi_i'`.

    Parameters
    ----------
    outcome : str
        Outcome column.
    covariates : sequence of str or None, default None
        Numeric firm covariates of the propensity score and outcome
        regression. Values of the earlier of the cell's two years are used
        (the base year, except for pre-entry cells of a universal base
        period), as R ``did``; time-invariant covariates are unaffected.
    control_group : {"never_treated", "not_yet_treated"}, default "never_treated"
        Comparison firms: never-treated firms, or also firms entering after
        :math:`\max(t, b) + \delta` (other than cohort :math:`g`).
    method : {"dr", "dr_improved", "ipw", "reg"}, default "dr"
        2x2 estimator: Sant'Anna-Zhao doubly robust ("traditional", R's
        default), its improved (IPT) variant, normalised IPW, or outcome
        regression.
    anticipation : int, default 0
        Years :math:`\delta` of anticipation: the base year of post-entry
        cells is :math:`g - 1 - \delta`.
    base_period : {"varying", "universal"}, default "varying"
        Base year of pre-entry cells: the previous year, or
        :math:`g - 1 - \delta` as for post-entry cells.
    weights : str or None, default None
        Firm-level sampling weights column; None uses the panel's weights
        role (equal weights without one).
    cluster : str or None, default None
        Firm-level column coarser than the firm for clustered inference;
        None clusters by firm.
    by : str or None, default None
        Firm-level column (size class, industry, park ...): the estimator
        runs within each subgroup.
    inference : {"analytic", "bootstrap", "none"}, default "analytic"
        Analytic influence-function SEs, the multiplier bootstrap, or none
        (point estimates only, with NaN SEs and no pre-test: for estimates
        re-computed on many resamples, e.g. a whole-pipeline bootstrap).
    n_bootstrap : int, default 999
        Bootstrap draws.
    bootstrap_weights : {"rademacher", "mammen", "webb"}, default "rademacher"
        Multiplier distribution ("webb" with few clusters).
    seed : int or None, default None
        Seed of the bootstrap (fresh entropy, recorded in the result, if None).
    level : float, default 0.95
        Confidence level.
    pretest_min_treated : int or None, default 10
        Treated firms required per tested pre-entry cell in the joint pre-test
        (see Notes); None tests every pre-entry cell, as R ``did`` does.

    Notes
    -----
    Cohorts are first park-entry years. Firms without entry, or entering
    after the last sample year plus :math:`\delta`, are never-treated within
    the sample. Cohorts entering in or before the first sample year plus
    :math:`\delta` have no base year: their rows are dropped and reported.
    In an unbalanced panel each cell uses the firms observed in both of its
    years, so :math:`ATT(g, t)` is the effect among cohort firms observed in
    :math:`b` and :math:`t` (for a balanced panel this is R's panel
    estimator).

    A cell whose propensity score separates treated firms from every
    comparison firm (no comparison firm has their covariate values, as in
    small cohorts with several categorical covariates), or whose outcome
    regression is singular, is not identified: it is left out of every
    aggregation, like a cell without comparison firms, and listed in
    ``result.cells_not_identified`` with the number of firms and the
    covariates (R ``did`` stops instead). Comparison firms separated the
    other way (covariate values no treated firm has) get weight 0, the limit
    of the logit likelihood.

    The pre-test is the Wald test that the pre-entry :math:`ATT(g, t)` are
    jointly zero (R ``did``'s ``W``), restricted to cells whose joint
    covariance the data can estimate. Over the :math:`m_g` pre-entry cells of
    cohort :math:`g`, the cohort-firm part of :math:`\hat V` is a sample
    covariance of its :math:`n_g` firms, of rank at most :math:`n_g - 1`.
    With :math:`m_g \ge n_g` the other directions carry only the much
    smaller comparison-firm noise, so :math:`\hat V` understates the
    variance there by orders of magnitude and :math:`W` explodes even when
    parallel trends hold (:math:`10^4` and more on panels of many cohorts of
    a few firms with long pre-periods); no eigenvalue cut-off of the
    pseudo-inverse repairs this, since those eigenvalues are not rounding
    noise. With :math:`m_g` below but near :math:`n_g` the statistic is
    still far from :math:`\chi^2_{m_g}` (with the :math:`1/n` variance,
    Hotelling's :math:`T^2` has mean :math:`m_g n_g / (n_g - m_g - 2)`).
    Each cohort therefore enters with its pre-entry cells closest to entry,
    the :math:`k`-th of them only while its first :math:`k` cells have at
    least :data:`~parkimpact.did.cs_results.PRETEST_FIRMS_PER_CELL`
    :math:`\times k` treated firms each (``n_treated``); cells with zero
    variance are left out as in R. ``pretest_min_treated`` sets that number
    (default 10); ``None`` tests every pre-entry cell with positive variance,
    as R ``did`` does. ``result.pretest_cells`` lists every
    pre-entry cell and whether it was tested; with large cohorts (R's
    ``mpdta``) every cell is. Even so, cells of 10-20 firms give heavy-tailed
    statistics (their standard errors rest on few firms), so a rejection
    driven by such cells deserves a look at ``pretest_cells``.
    """

    outcome: str
    _: KW_ONLY
    covariates: Sequence[str] | None = None
    control_group: ControlGroup = "never_treated"
    method: MethodName = "dr"
    anticipation: int = 0
    base_period: BasePeriod = "varying"
    weights: str | None = None
    cluster: str | None = None
    by: str | None = None
    inference: InferenceKind = "analytic"
    n_bootstrap: int = 999
    bootstrap_weights: BootstrapWeights = "rademacher"
    seed: int | None = None
    level: float = 0.95
    pretest_min_treated: int | None = PRETEST_FIRMS_PER_CELL

    def __post_init__(self) -> None:
        if self.pretest_min_treated is not None and (
            not isinstance(self.pretest_min_treated, int) or self.pretest_min_treated < 1
        ):
            raise ValueError(
                "pretest_min_treated must be a positive integer or None; got "
                f"{self.pretest_min_treated!r}. Use None to test every pre-entry cell (as R did)."
            )
        if not isinstance(self.outcome, str):
            raise TypeError(f"outcome must be a column name; got {self.outcome!r}.")
        if self.covariates is not None and (
            isinstance(self.covariates, str) or not all(isinstance(c, str) for c in self.covariates)
        ):
            raise TypeError(
                f"covariates must be a sequence of column names or None; got "
                f"{self.covariates!r}. Wrap a single name in a list."
            )
        _choice("control_group", self.control_group, ControlGroup)
        _choice("method", self.method, MethodName)
        _choice("base_period", self.base_period, BasePeriod)
        _choice("inference", self.inference, InferenceKind)
        _choice("bootstrap_weights", self.bootstrap_weights, BootstrapWeights)
        for name in ("weights", "cluster", "by"):
            _optional_str(name, getattr(self, name))
        self._check_numbers()

    def _check_numbers(self) -> None:
        antic = self.anticipation
        if isinstance(antic, bool) or not isinstance(antic, Integral) or antic < 0:
            raise ValueError(f"anticipation must be a non-negative integer; got {antic!r}.")
        draws = self.n_bootstrap
        if isinstance(draws, bool) or not isinstance(draws, Integral) or draws < 2:
            raise ValueError(f"n_bootstrap must be an integer of at least 2; got {draws!r}.")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, Integral) or self.seed < 0
        ):
            raise ValueError(f"seed must be a non-negative integer or None; got {self.seed!r}.")
        level = self.level
        if isinstance(level, bool) or not isinstance(level, Real) or not 0.0 < level < 1.0:
            raise ValueError(
                f"level must be a number strictly between 0 and 1; got {level!r}. "
                "Use e.g. level=0.95."
            )

    # ------------------------------------------------------------------ fit
    def fit(self, panel: FirmPanel) -> GroupTimeATT:
        """Estimate every ATT(g, t) and its influence function.

        Parameters
        ----------
        panel : FirmPanel
            Firm-year panel with an ``entry`` role.

        Returns
        -------
        GroupTimeATT
            A new immutable result.

        Raises
        ------
        TypeError
            If ``panel`` is not a :class:`FirmPanel`.
        ValueError
            If the panel has no entry role or a column is missing or not
            firm-level where it must be.
        DataFormatError
            If a covariate is not numeric.
        IdentificationError
            If there are no comparison firms of the requested kind.

        Warns
        -----
        DroppedRowsWarning
            Rows with missing values or of cohorts treated in the first period.
        SmallCohortWarning
            Cohorts with fewer than ``5 + len(covariates)`` firms.
        CellsWithoutControlsWarning
            Cells without comparison firms (listed in the result).
        SeparatedCellsWarning
            Cells whose propensity score separates treated firms (or whose
            outcome regression is singular): not estimated, listed in the
            result with the covariates and the number of firms.
        OverlapWarning
            Propensity scores of 0.999 or more.
        FewClustersWarning
            Fewer than 30 clusters.
        """
        with thin_blas():
            prepared, wide, estimates = self._fit(panel)
        return self._result(panel, prepared, wide, estimates)

    def _fit(
        self, panel: FirmPanel
    ) -> tuple[PreparedData, WidePanel, tuple[CellEstimates, np.ndarray | None]]:
        prepared = prepare_panel(self, panel)
        wide = to_wide(
            prepared.frame,
            unit=prepared.unit,
            time=prepared.time,
            entry=prepared.entry,
            outcome=self.outcome,
            covariates=list(self.covariates or ()),
            weights=prepared.weights,
            cluster=self.cluster,
            by=self.by,
        )
        cohorts = np.unique(wide.cohort[~np.isnan(wide.cohort)])
        cells = plan_cells(
            cohorts,
            wide.years,
            base_period=self.base_period,
            anticipation=self.anticipation,
            control_group=self.control_group,
        )
        return prepared, wide, self._estimate(wide, cells)

    def _estimate(self, wide: WidePanel, cells: list) -> tuple[CellEstimates, np.ndarray | None]:
        """Run the cells on the whole sample or within each subgroup; stack on all firms."""
        names = list(self.covariates or ())
        if wide.groups is None:
            return estimate_cells(wide, cells, method=self.method, covariate_names=names), None
        return estimate_subgroups(
            wide, cells, method=self.method, covariate_names=names, by=str(self.by)
        )

    def _inference(self) -> InferenceSettings:
        seed: int | np.random.SeedSequence | None = self.seed
        if self.inference == "bootstrap":
            seed = recorded_seed(as_seed_sequence(self.seed))
        return InferenceSettings(
            kind=self.inference,
            n_bootstrap=int(self.n_bootstrap),
            bootstrap_weights=self.bootstrap_weights,
            seed=seed,
            level=float(self.level),
            cluster=self.cluster,
        )

    def _result(
        self,
        panel: FirmPanel,
        prepared: PreparedData,
        wide: WidePanel,
        estimates: tuple[CellEstimates, np.ndarray | None],
    ) -> GroupTimeATT:
        est, _labels = estimates
        cells = est.cells
        if cells.empty:
            raise ValueError(
                "the panel must allow at least one group-time cell; got none (every cell "
                f"lacks comparison or cohort firms: {len(est.missing)} listed). Check the "
                "entry years and the control group."
            )
        self._warn(est, wide)
        inf = InfluenceFunction(
            est.psi,
            est.att,
            _cell_names(cells, self.by),
            wide.unit_ids,
            wide.clusters,
            keys=cells[[c for c in ("subgroup", "cohort", "year", "event_time") if c in cells]],
        )
        settings = self._inference()
        se, boot = settings.standard_errors(inf)
        index = pd.MultiIndex.from_frame(
            cells[[c for c in ("subgroup", "cohort", "year") if c in cells]]
        )
        pretest, pretest_cells = None, None
        if settings.kind != "none":
            pretest, pretest_cells = _pretest(settings, inf, cells, se, self.pretest_min_treated)
        return GroupTimeATT(
            att=pd.Series(est.att, index=index, name="att"),
            std_errors=pd.Series(se, index=index, name="std_error"),
            influence=inf,
            cells=cells,
            pretest=pretest,
            pretest_cells=pretest_cells,
            cells_without_controls=est.missing,
            drops=prepared.drops,
            spec=self._spec(panel, prepared, settings),
            firms=_firm_table(wide),
            inference=settings,
            bootstrap=boot,
            se_type=self._se_type(settings, inf),
            outcome=self.outcome,
            n_obs=int(wide.observed.sum()),
            by=self.by,
            notes=tuple(prepared.notes) + tuple(_estimate_notes(est)),
        )

    def _warn(self, est: CellEstimates, wide: WidePanel) -> None:
        warn_cells_not_estimated(est, stacklevel=5)
        if est.overlap:
            warnings.warn(
                f"propensity scores reached {0.999} in {len(est.overlap)} cell(s), e.g. "
                f"{est.overlap[0]}: overlap is weak and those estimates are unstable. "
                "Consider fewer covariates.",
                OverlapWarning,
                stacklevel=4,
            )
        if self.cluster is not None:
            n_clusters = int(pd.unique(wide.clusters).size)  # type: ignore[arg-type]
            if n_clusters < FEW_CLUSTERS:
                warnings.warn(
                    f"cluster {self.cluster!r} must have at least {FEW_CLUSTERS} clusters for "
                    f"reliable analytic inference; got {n_clusters}. Use "
                    "inference='bootstrap', bootstrap_weights='webb' (wild cluster bootstrap "
                    "on the influence function).",
                    FewClustersWarning,
                    stacklevel=4,
                )

    def _spec(
        self, panel: FirmPanel, prepared: PreparedData, settings: InferenceSettings
    ) -> Mapping[str, Any]:
        settings_dict = asdict(self)
        if settings_dict["covariates"] is not None:
            settings_dict["covariates"] = tuple(settings_dict["covariates"])
        fixed = {
            "estimator": "CallawaySantAnna",
            "settings": MappingProxyType(settings_dict),
            "parkimpact_version": __version__,
            "seed": settings.seed,
            "first_year": prepared.first_year,
            "weights": prepared.weights,
        }
        return _Spec(fixed, panel)

    def _se_type(self, settings: InferenceSettings, inf: InfluenceFunction) -> str:
        if self.cluster is None:
            level = "clustered by firm (each firm's outcome changes are correlated across cells)"
        else:
            level = f"clustered by {self.cluster} ({inf.n_clusters} clusters" + (
                ", factor G/(G-1))" if settings.kind == "analytic" else ")"
            )
        if settings.kind == "none":
            return "none (point estimates only)"
        if settings.kind == "bootstrap":
            head = (
                f"multiplier bootstrap of the influence function ({settings.n_bootstrap} draws, "
                f"{settings.bootstrap_weights} weights, seed {settings.seed}; IQR-based SEs, "
                "nuisance models not refitted per draw)"
            )
        else:
            head = "analytic influence function"
        return f"{head}, {level}; {_CONDITIONAL[self.method]}"


class _Spec(Mapping[str, Any]):
    """The read-only specification; the panel fingerprint is hashed on first access.

    Hashing a large panel costs more than some fits, and most results never
    read it; the panel is immutable, so hashing later gives the same value.
    """

    _KEY = "panel_fingerprint"

    def __init__(self, fixed: dict[str, Any], panel: FirmPanel) -> None:
        self._fixed = dict(fixed)
        self._panel: FirmPanel | None = panel

    def _resolve(self) -> None:
        if self._panel is not None:
            self._fixed[self._KEY] = self._panel.fingerprint()
            self._panel = None

    def __getitem__(self, key: str) -> Any:
        if key == self._KEY:
            self._resolve()
        return self._fixed[key]

    def __iter__(self) -> Iterator[str]:
        self._resolve()
        return iter(self._fixed)

    def __len__(self) -> int:
        return len(self._fixed) + (self._panel is not None)

    def __repr__(self) -> str:
        self._resolve()
        return f"spec({self._fixed!r})"


_CONDITIONAL: dict[str, str] = {
    "dr": (
        "includes the estimation effects of the logit propensity score and the linear outcome "
        "regression; consistent if either model is correctly specified, given parallel trends "
        "conditional on the covariates and overlap"
    ),
    "dr_improved": (
        "no nuisance-estimation terms (they vanish by the tilting and weighted least-squares "
        "first-order conditions); valid if the logit propensity score is correctly specified, "
        "given conditional parallel trends and overlap"
    ),
    "ipw": (
        "includes the estimation effect of the logit propensity score; conditional on the "
        "propensity score being correctly specified, conditional parallel trends and overlap"
    ),
    "reg": (
        "includes the estimation effect of the outcome regression; conditional on the linear "
        "regression of comparison firms' outcome changes being correctly specified and "
        "conditional parallel trends"
    ),
}


def _cell_names(cells: pd.DataFrame, by: str | None) -> list[str]:
    names = [f"ATT({g},{t})" for g, t in zip(cells["cohort"], cells["year"], strict=True)]
    if by is None:
        return names
    return [f"{name}[{s}]" for name, s in zip(names, cells["subgroup"], strict=True)]


def _pretest(
    settings: InferenceSettings,
    inf: InfluenceFunction,
    cells: pd.DataFrame,
    se: np.ndarray,
    min_treated: int | None,
) -> tuple[WaldTest | None, pd.DataFrame]:
    """Wald test that the testable pre-entry ATT(g, t) are zero, and the pre-entry cells.

    A cell is testable when its variance is positive and it is the ``k``-th
    such cell of its cohort counted from entry backwards, with at least
    ``PRETEST_FIRMS_PER_CELL * k`` treated firms in each of those ``k`` cells
    (see the notes of :class:`CallawaySantAnna`).
    """
    pre = ~cells["post"].to_numpy(dtype=bool) & ~cells["reference"].to_numpy(dtype=bool)
    keys = [c for c in ("subgroup", "cohort") if c in cells]
    table = cells.loc[pre, [*keys, "year", "event_time", "n_treated"]].copy()
    table["estimate"] = inf.estimates[pre]
    table["std_error"] = se[pre]
    positive = np.isfinite(table["std_error"].to_numpy())
    ordered = table.loc[positive].sort_values([*keys, "event_time"], ascending=False)
    groups = ordered.groupby(keys, sort=False)
    support = groups["n_treated"].cummin().to_numpy()
    rank = groups.cumcount().to_numpy() + 1
    tested = pd.Series(False, index=table.index)
    tested[ordered.index] = support >= (min_treated or 0) * rank
    table["tested"] = tested.to_numpy()
    table["reason"] = np.where(
        table["tested"],
        "",
        np.where(positive, "too few treated firms for a joint test", "zero variance"),
    )
    table = table.reset_index(drop=True)
    table.attrs["min_treated"] = min_treated
    chosen = np.flatnonzero(pre)[table["tested"].to_numpy()]
    if chosen.size == 0:
        return None, table
    return settings.wald(inf, chosen), table


def _firm_table(wide: WidePanel) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"cohort": wide.cohort, "weight": wide.weights},
        index=pd.Index(wide.unit_ids, name="unit"),
    )
    frame["subgroup"] = wide.groups if wide.groups is not None else "all"
    return frame


def _estimate_notes(est: CellEstimates) -> list[str]:
    notes = []
    if est.separated:
        notes.append(
            f"up to {est.separated} comparison firm(s) per cell perfectly separated by the "
            "propensity score (no treated firm shares their covariates) get weight 0"
        )
    return notes
