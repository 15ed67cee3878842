r"""The park effect on closure: a discrete-time hazard model with firm-clustered SEs.

Each firm-year :math:`(i, t)` with :math:`t` before the panel's last year is
at risk of closing before :math:`t + 1`; :math:`y_{it} = 1` when the firm
closes after :math:`t` (its last observed year is :math:`t`). The model is

.. math::

    P(y_{it} = 1) = F\big(\alpha_t + x_i'\beta + \textstyle\sum_p
        \gamma_p\, D_{ipt} + a(\text{age}_{it})\big),

with year effects :math:`\alpha_t`, firm covariates :math:`x_i` (first
observed year), age-band effects when the founding year is known,
:math:`D_{ipt} = 1[\text{firm } i \text{ entered park } p \text{ by } t]`
(absorbing, intention to treat) and :math:`F` the complementary log-log link
:math:`F(z) = 1 - \exp(-e^{z})` (default) or the logistic link. With the
cloglog link the model is the grouped-time version of a proportional hazards
model, so :math:`\gamma_p` is the log hazard ratio of closure of park
:math:`p`'s tenants (:math:`e^{\gamma_p}` the hazard ratio); with the logit
link it is a log odds ratio. The pooled model replaces the park indicators by
one indicator of having entered any park.

Firm-years enter the likelihood only from the firm's first observed year,
so firms founded before the panel starts enter at their first observed age
(left truncation: the likelihood is conditional on surviving to it) and
firms alive in the last year are right-censored. Years without any closure
identify nothing once year effects are in the model; their rows are left
out. Standard errors are clustered by firm.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from parkimpact.did.cs_results import thin_blas
from parkimpact.report.tidy import make_tidy
from parkimpact.scorecard._measures import ALL_PARKS

__all__ = ["closure_model", "HazardLink", "AGE_BANDS"]

HazardLink = Literal["cloglog", "logit"]
AGE_BANDS: tuple[int, ...] = (5, 10, 20)
"""Upper edges of the firm-age bands (years) of the hazard model; the last band is open."""


def _person_years(panel_rows: pd.DataFrame, firms: pd.DataFrame) -> pd.DataFrame:
    last_year = int(panel_rows["_year"].max())
    rows = panel_rows.loc[panel_rows["_year"] < last_year].copy()
    info = firms.reindex(rows["_unit"].to_numpy())
    rows["event"] = (
        info["closed"].to_numpy() & (rows["_year"].to_numpy() == info["last"].to_numpy())
    ).astype(float)
    rows["_entered"] = rows["_year"].to_numpy() >= info["entry"].to_numpy()
    rows["_firm_park"] = info["park"].to_numpy()
    return rows


def _design(
    rows: pd.DataFrame, covariates: pd.DataFrame, terms: dict[str, np.ndarray]
) -> pd.DataFrame:
    parts = {name: values.astype(float) for name, values in terms.items()}
    years = np.sort(rows["_year"].unique())
    for year in years[1:]:
        parts[f"year={year}"] = (rows["_year"].to_numpy() == year).astype(float)
    x = covariates.reindex(rows["_unit"].to_numpy())
    for name in x.columns:
        parts[name] = x[name].to_numpy(dtype="float64")
    if "_founded" in rows:
        age = rows["_year"].to_numpy() - rows["_founded"].to_numpy(dtype="float64")
        band = np.where(
            np.isnan(age), np.nan, np.searchsorted(np.asarray(AGE_BANDS), age, side="right")
        )
        for b in range(1, len(AGE_BANDS) + 1):
            parts[f"age_band={b}"] = (band == b).astype(float)
    design = pd.DataFrame(parts, index=rows.index)
    design.insert(0, "const", 1.0)
    return design


def _fit(y: np.ndarray, design: pd.DataFrame, groups: np.ndarray, link: HazardLink):
    import statsmodels.api as sm

    family_link = sm.families.links.CLogLog() if link == "cloglog" else sm.families.links.Logit()
    family = sm.families.Binomial(link=family_link)
    keep = design.notna().all(axis=1).to_numpy()
    x = design.loc[keep]
    varying = [c for c in x.columns if c == "const" or x[c].nunique() > 1]
    with warnings.catch_warnings(record=True) as caught, thin_blas():
        warnings.simplefilter("always")
        model = sm.GLM(y[keep], x[varying], family=family)
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups[keep]}, maxiter=200)
    return fit, caught, keep


def _model(
    rows: pd.DataFrame, covariates: pd.DataFrame, terms: dict[str, np.ndarray], link: HazardLink
) -> tuple[object, str, np.ndarray]:
    events_by_year = rows.groupby("_year")["event"].sum()
    useful = rows["_year"].isin(events_by_year.index[events_by_year > 0]).to_numpy()
    rows = rows.loc[useful]
    design = _design(rows, covariates, {k: v[useful] for k, v in terms.items()})
    groups = pd.factorize(rows["_unit"])[0]
    fit, caught, keep = _fit(rows["event"].to_numpy(), design, groups, link)
    names = sorted({type(w.message).__name__ for w in caught})
    note = f"estimation warnings: {', '.join(names)}" if names else ""
    return fit, note, useful


def closure_model(
    panel_rows: pd.DataFrame,
    firms: pd.DataFrame,
    covariates: pd.DataFrame,
    parks: Sequence[str],
    *,
    link: HazardLink = "cloglog",
    level: float = 0.95,
) -> pd.DataFrame:
    """Tidy park effects on closure: the pooled model (park ``all``) and the by-park model.

    Parameters
    ----------
    panel_rows : pandas.DataFrame
        ``_unit`` and ``_year`` of every firm-year, and ``_founded`` (founding
        year, for firm-age bands) when known.
    firms : pandas.DataFrame
        :func:`~parkimpact.scorecard.survival.firm_spells`.
    covariates : pandas.DataFrame
        Numeric firm-level covariates indexed by firm.
    parks : sequence of str
        Park labels (``"all"`` included for the pooled model).
    link : {"cloglog", "logit"}
        Link of the hazard.
    level : float
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Tidy columns with key ``park``, then ``hazard_ratio`` (:math:`e^{\\gamma}`),
        ``n_obs``, ``n_events``, ``n_firms``, ``n_tenants``, ``link`` and ``note``.
    """
    rows = _person_years(panel_rows, firms)
    entered = rows["_entered"].to_numpy()
    frames = []
    named = [p for p in parks if p != ALL_PARKS]
    specs = []
    if ALL_PARKS in parks:
        specs.append({"in_park": entered})
    if named:
        specs.append(
            {f"in_park[{p}]": entered & (rows["_firm_park"] == p).to_numpy() for p in named}
        )
    for terms in specs:
        fit, note, useful = _model(rows, covariates, terms, link)
        frames.append(_tidy(fit, terms, rows, useful, note, link, level))
    return pd.concat(frames, ignore_index=True)


def _tidy(
    fit: object,
    terms: dict[str, np.ndarray],
    rows: pd.DataFrame,
    useful: np.ndarray,
    note: str,
    link: HazardLink,
    level: float,
) -> pd.DataFrame:
    params, bse = fit.params, fit.bse  # type: ignore[attr-defined]
    names = list(terms)
    estimates = [float(params.get(n, np.nan)) for n in names]
    ses = [float(bse.get(n, np.nan)) for n in names]
    parks = [ALL_PARKS if n == "in_park" else n[len("in_park[") : -1] for n in names]
    frame = make_tidy(names, estimates, ses, level=level, keys={"park": parks})
    used = rows.loc[useful]
    frame["hazard_ratio"] = np.exp(frame["estimate"])
    frame["n_obs"] = int(fit.nobs)  # type: ignore[attr-defined]
    frame["n_events"] = int(used["event"].sum())
    frame["n_firms"] = int(used["_unit"].nunique())
    frame["n_tenants"] = [int(used.loc[terms[n][useful], "_unit"].nunique()) for n in names]
    frame["link"] = link
    frame["note"] = [
        note if np.isfinite(e) else "term not estimable (no variation)" for e in estimates
    ]
    return frame
