r"""R&D capital in the production function, and whether park firms use it better.

:class:`KnowledgeCapital` adds the log knowledge stock
:math:`r_{it} = \ln(1 + K^R_{it})` (the perpetual-inventory stock built by
:func:`parkimpact.data.perpetual_inventory`) to any production-function
estimator as an exogenous, predetermined shifter (Griliches 1979; Hall,
Mairesse and Mohnen 2010):

.. math:: y_{it} = f(x_{it}; \beta) + \gamma\, r_{it} + \omega_{it} + \varepsilon_{it}.

:class:`RDParkElasticity` is the test of Yang, Motohashi and Chen (2009): do
firms on a science park turn R&D into output more efficiently? It estimates

.. math::

    y_{it} = x_{it}'\beta + \gamma\, r_{it} + \gamma_P\, r_{it} P_i
             + \gamma_E\, r_{it} D_{it} + \delta_P P_i + \delta_E D_{it}
             + \alpha_i + \tau_t + u_{it},

with :math:`P_i` = 1 for firms that are ever in a park and :math:`D_{it}` = 1
in park years after entry (``in_park``). :math:`\gamma_P` is the difference
in the R&D elasticity of park firms (before entry: selection), :math:`\gamma_E`
its change after entry (the park effect); the R&D elasticity of a park firm
after entry is :math:`\gamma + \gamma_P + \gamma_E`. With firm effects
:math:`\alpha_i` the term :math:`\delta_P P_i` is absorbed. Standard errors
are clustered by firm.

References
----------
Yang, C.-H., Motohashi, K. and Chen, J.-R. (2009). Are new technology-based
firms located on science parks really more innovative? Evidence from Taiwan.
*Research Policy* 38(1), 77-85.

Hall, B. H., Mairesse, J. and Mohnen, P. (2010). Measuring the returns to
R&D. *Handbook of the Economics of Innovation*, vol. 2, ch. 24.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from parkimpact.data.drops import DropReport
from parkimpact.data.panel import FirmPanel
from parkimpact.data.validation import require_columns
from parkimpact.errors import IdentificationError
from parkimpact.inference import InfluenceFunction, WaldTest
from parkimpact.report.tidy import ModelInfo, ResultBase, make_tidy
from parkimpact.tfp._base import as_names
from parkimpact.tfp.ols import fit_linear, within, year_dummies
from parkimpact.tfp.results import GroupedProductionFunctionResult, ProductionFunctionResult

__all__ = ["KnowledgeCapital", "RDParkElasticity", "RDParkResult", "log_rd_capital"]

Transform = Literal["log1p", "log", "none"]


def log_rd_capital(values: np.ndarray, transform: Transform, column: str) -> np.ndarray:
    """The R&D regressor from the knowledge stock: ``log(1 + K)``, ``log(K)`` or ``K`` itself."""
    values = np.asarray(values, dtype=float)
    if transform == "none":
        return values
    bound = -1.0 if transform == "log1p" else 0.0
    bad = values <= bound
    if bad.any():
        raise ValueError(
            f"{column} must be {'>= 0' if transform == 'log1p' else 'positive'} for "
            f"rd_transform={transform!r}; got {int(bad.sum())} row(s) outside. Drop them first "
            "or choose another rd_transform."
        )
    return np.log1p(values) if transform == "log1p" else np.log(values)


@dataclass(frozen=True, kw_only=True)
class KnowledgeCapital:
    r"""A production function with the log knowledge (R&D) stock as a shifter.

    Parameters
    ----------
    production : estimator
        Any estimator of :mod:`parkimpact.tfp` (``ACF``, ``OlleyPakes``,
        ``LevinsohnPetrin``, ``Wooldridge``, ``OLS``, ``FixedEffects``, ``GNR``).
    rd_capital : str, default "rd_capital"
        Column of the knowledge stock in levels.
    rd_transform : {"log1p", "log", "none"}, default "log1p"
        How the stock enters: :math:`\ln(1 + K)` keeps firms with no R&D.
    name : str, default "log_rd_capital"
        Name of the added control (the R&D elasticity in ``params``).

    Notes
    -----
    The stock is predetermined (built from past spending), so proxy estimators
    use its current value as its own instrument.
    """

    production: Any
    rd_capital: str = "rd_capital"
    rd_transform: Transform = "log1p"
    name: str = "log_rd_capital"

    def __post_init__(self) -> None:
        if not hasattr(self.production, "fit") or not hasattr(self.production, "controls"):
            raise TypeError(
                f"production must be a parkimpact.tfp estimator; got "
                f"{type(self.production).__name__}. Pass e.g. ACF(...)."
            )
        if self.rd_transform not in ("log1p", "log", "none"):
            raise ValueError(
                f"rd_transform must be 'log1p', 'log' or 'none'; got {self.rd_transform!r}. "
                "Pick one of those."
            )

    def fit(self, panel: FirmPanel) -> ProductionFunctionResult | GroupedProductionFunctionResult:
        """Add the R&D regressor to ``panel`` and fit the production function."""
        if not isinstance(panel, FirmPanel):
            raise TypeError(f"panel must be a FirmPanel; got {type(panel).__name__}.")
        require_columns(panel.data, [self.rd_capital], "panel")
        values = log_rd_capital(
            panel.data[self.rd_capital].to_numpy(dtype=float), self.rd_transform, self.rd_capital
        )
        controls = as_names(self.production.controls, "controls") + (self.name,)
        return replace(self.production, controls=controls).fit(panel.assign(**{self.name: values}))


@dataclass(frozen=True, eq=False, repr=False)
class RDParkResult(ResultBase):
    """The Yang-Motohashi-Chen regression: R&D elasticities in and out of parks.

    Attributes
    ----------
    params, std_errors : pandas.Series
        Coefficients (inputs, ``rd``, ``rd_x_park``, ``rd_x_post``, ``park``,
        ``post``) and firm-clustered SEs (year effects are not reported).
    vcov : pandas.DataFrame
        Their covariance.
    influence : InfluenceFunction
        Firm-level influence functions.
    n_obs, n_firms : int
        Rows and firms used.
    drops : DropReport
        Rows removed (missing values).
    fixed_effects : str
        ``"firm"`` or ``"none"``.
    """

    params: pd.Series
    std_errors: pd.Series
    vcov: pd.DataFrame
    influence: InfluenceFunction = field(repr=False)
    n_obs: int
    n_firms: int
    drops: DropReport = field(repr=False)
    fixed_effects: str
    dependent: str

    def __repr__(self) -> str:
        shown = {k: round(float(self.params[k]), 4) for k in ("rd", "rd_x_park", "rd_x_post")}
        return f"RDParkResult({shown})"

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """Tidy frame of all reported coefficients."""
        return make_tidy(
            list(self.params.index), self.params.to_numpy(), self.std_errors.to_numpy(), level=level
        )

    def model_info(self) -> ModelInfo:
        """Counts and inference facts."""
        return ModelInfo(
            name="R&D elasticity in and out of science parks (Yang, Motohashi and Chen 2009)",
            n_obs=self.n_obs,
            n_units=self.n_firms,
            n_clusters=self.n_firms,
            cluster="firm",
            fixed_effects=("firm", "year") if self.fixed_effects == "firm" else ("year",),
            se_type="cluster-robust (firm)",
            dependent=self.dependent,
        )

    def rd_elasticities(self, level: float = 0.95) -> pd.DataFrame:
        """Output elasticity of R&D capital: outside parks, park firms before and after entry."""
        names = list(self.params.index)
        combos = {
            "outside parks": ["rd"],
            "park firms before entry": ["rd", "rd_x_park"],
            "park firms after entry": ["rd", "rd_x_park", "rd_x_post"],
        }
        weights = np.zeros((len(names), len(combos)))
        for j, terms in enumerate(combos.values()):
            weights[[names.index(t) for t in terms], j] = 1.0
        estimate = self.params.to_numpy() @ weights
        errors = np.sqrt(np.diag(weights.T @ self.vcov.to_numpy() @ weights))
        return make_tidy(list(combos), estimate, errors, level=level)

    def test(self) -> WaldTest:
        """Wald test of equal R&D elasticities (``rd_x_park = rd_x_post = 0``)."""
        from scipy import stats

        names = list(self.params.index)
        keep = [names.index("rd_x_park"), names.index("rd_x_post")]
        diff = self.params.to_numpy()[keep]
        cov = self.vcov.to_numpy()[np.ix_(keep, keep)]
        statistic = float(diff @ np.linalg.solve(cov, diff))
        return WaldTest(statistic, 2, float(stats.chi2.sf(statistic, 2)))


@dataclass(frozen=True, kw_only=True)
class RDParkElasticity:
    r"""The Yang, Motohashi and Chen (2009) test of R&D efficiency on science parks.

    See :mod:`parkimpact.tfp.rd` for the regression.

    Parameters
    ----------
    output : str
        Log output (or TFP from :meth:`ProductionFunctionResult.augment`).
    inputs : str or sequence of str, default ()
        Log inputs (empty when ``output`` is already TFP).
    rd_capital : str, default "rd_capital"
        Knowledge stock in levels.
    rd_transform : {"log1p", "log", "none"}, default "log1p"
        How the stock enters.
    fixed_effects : {"firm", "none"}, default "firm"
        Firm fixed effects (``park`` is then absorbed).
    time_effects : bool, default True
        Year indicators.

    Examples
    --------
    >>> est = RDParkElasticity(output="log_output", inputs=("log_employment", "log_capital"))
    >>> est.fixed_effects
    'firm'
    """

    output: str
    inputs: str | Sequence[str] = ()
    rd_capital: str = "rd_capital"
    rd_transform: Transform = "log1p"
    fixed_effects: Literal["firm", "none"] = "firm"
    time_effects: bool = True

    def __post_init__(self) -> None:
        as_names(self.inputs, "inputs")
        if self.fixed_effects not in ("firm", "none"):
            raise ValueError(
                f"fixed_effects must be 'firm' or 'none'; got {self.fixed_effects!r}. "
                "Pick one of those."
            )
        if self.rd_transform not in ("log1p", "log", "none"):
            raise ValueError(
                f"rd_transform must be 'log1p', 'log' or 'none'; got {self.rd_transform!r}. "
                "Pick one of those."
            )

    def fit(self, panel: FirmPanel) -> RDParkResult:
        """Estimate on a panel with an ``entry`` role; returns a new result."""
        if not isinstance(panel, FirmPanel):
            raise TypeError(f"panel must be a FirmPanel; got {type(panel).__name__}.")
        if panel.roles.entry is None:
            raise ValueError(
                "panel must declare the entry role for RDParkElasticity; got none. Build it "
                "with FirmPanel(..., entry='entry_year')."
            )
        inputs = as_names(self.inputs, "inputs")
        require_columns(panel.data, [self.output, *inputs, self.rd_capital], "panel")
        for column in (self.output, *inputs, self.rd_capital):
            values = pd.to_numeric(panel.data[column], errors="coerce").to_numpy(dtype=float)
            panel = panel.drop_rows(
                ~np.isfinite(values), step="rd_park", reason=f"missing or non-finite {column}"
            )
        data = panel.data
        rd = log_rd_capital(
            data[self.rd_capital].to_numpy(dtype=float), self.rd_transform, self.rd_capital
        )
        park = data[panel.roles.entry].notna().to_numpy(dtype=float)
        post = panel.in_park().to_numpy(dtype=float)
        columns = {name: data[name].to_numpy(dtype=float) for name in inputs}
        columns |= {
            "rd": rd,
            "rd_x_park": rd * park,
            "rd_x_post": rd * post,
            "park": park,
            "post": post,
        }
        if self.fixed_effects == "firm":
            del columns["park"]
        return self._estimate(panel, columns)

    def _estimate(self, panel: FirmPanel, columns: dict[str, np.ndarray]) -> RDParkResult:
        data = panel.data
        unit = data[panel.roles.unit].to_numpy()
        names = tuple(columns)
        x = np.column_stack(list(columns.values()))
        y = data[self.output].to_numpy(dtype=float)
        if self.time_effects:
            dummies, _ = year_dummies(data[panel.roles.time].to_numpy())
            x = np.column_stack([x, dummies])
        full_names = names + tuple(f"_year{j}" for j in range(x.shape[1] - len(names)))
        if self.fixed_effects == "firm":
            fit = fit_linear(
                within(y, unit),
                within(x, unit),
                unit,
                full_names,
                absorbed=int(pd.unique(unit).size),
            )
            keep = list(range(len(names)))
        else:
            fit = fit_linear(y, np.column_stack([np.ones(len(y)), x]), unit, ("const", *full_names))
            keep = list(range(1, len(names) + 1))
        if not np.isfinite(fit.vcov).all():
            raise IdentificationError(
                "RDParkElasticity must have at least two firms and park variation; got a "
                "degenerate covariance. Check that some firms enter a park within the sample."
            )
        params = pd.Series(fit.coef[keep], index=list(names), name="estimate")
        vcov = pd.DataFrame(fit.vcov[np.ix_(keep, keep)], index=params.index, columns=params.index)
        return RDParkResult(
            params=params,
            std_errors=pd.Series(np.sqrt(np.diag(vcov.to_numpy())), index=params.index),
            vcov=vcov,
            influence=fit.influence.subset(keep),
            n_obs=len(y),
            n_firms=int(pd.unique(unit).size),
            drops=panel.drops,
            fixed_effects=self.fixed_effects,
            dependent=self.output,
        )
