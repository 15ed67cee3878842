# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. Staggered difference-in-differences with the doubly robust Callaway-Sant'Anna estimator
#
# Notebook 1 showed that two-way fixed effects fail under staggered entry with dynamic effects and
# that trends must be compared conditionally on the characteristics that drive entry. This notebook
# works through the estimator that fixes both problems, the group-time ATT of Callaway and Sant'Anna
# (2021) with the doubly robust 2x2 comparisons of Sant'Anna and Zhao (2020):
#
# 1. on `mpdta`, the county panel of the R `did` package (teen employment and minimum-wage
#    increases), where every number can be checked against the published reference;
# 2. on the simulated park economy, where it can be checked against the truth.
#
# Run time: about 15 seconds on two cores.

# %%
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from parkimpact import FirmPanel
from parkimpact.datasets import simulate_parks
from parkimpact.did import (
    BaconDecomposition,
    CallawaySantAnna,
    HonestDiD,
    SunAbraham,
    TwoWayFE,
)
from parkimpact.report import table

pd.set_option("display.precision", 4)
pd.set_option("display.width", 110)
SEED = 5
warnings.simplefilter("once")

# %% [markdown]
# ## Set-up and identification
#
# Units $i$ are observed in years $t = 1, \dots, T$; $G_i$ is the year a unit is first treated
# ($G_i = \infty$ for never-treated units) and treatment is absorbing. For cohort $g$ the
# group-time average treatment effect is
#
# $$ ATT(g, t) = E\big[Y_t(g) - Y_t(\infty) \mid G = g\big]. $$
#
# Assume **no anticipation** (before $g$, cohort $g$'s outcomes equal its untreated outcomes),
# **conditional parallel trends** with the never-treated (or not-yet-treated) units $C$,
#
# $$ E[Y_t(\infty) - Y_{g-1}(\infty) \mid X, G = g]
#    = E[Y_t(\infty) - Y_{g-1}(\infty) \mid X, C = 1], $$
#
# and **overlap**. Then each $ATT(g, t)$ is a 2x2 difference-in-differences between cohort $g$ and
# the comparison units over years $g - 1$ and $t$. The doubly robust version (Sant'Anna and Zhao
# 2020) combines a propensity score $p_g(X)$ and an outcome regression $m_{g,t}(X)$ for the change
# of the comparison units' outcomes:
#
# $$ ATT(g, t) = E\left[\left(\frac{G_g}{E[G_g]}
#   - \frac{\frac{p_g(X)C}{1 - p_g(X)}}{E\big[\frac{p_g(X)C}{1 - p_g(X)}\big]}\right)
#   \big(Y_t - Y_{g-1} - m_{g,t}(X)\big)\right], $$
#
# consistent if either model is correctly specified. The $ATT(g, t)$ are then averaged with weights
# chosen by the analyst, and inference uses their influence functions.
#
# ## The minimum-wage panel
#
# `mpdta` holds 500 US counties observed 2003-2007; cohorts are the years of a minimum-wage
# increase (2004, 2006, 2007; 0 codes never-treated counties), the outcome is log teen employment
# and the covariate log population. It is not part of parkimpact: the notebook reads it from the
# shared reference folder beside the project when it is there, and otherwise falls back to a
# short balanced extract of the simulated park economy.


# %%
def project_root(start=None):
    """The nearest folder at or above ``start`` that holds the project's pyproject.toml."""
    here = Path(start or Path.cwd()).resolve()
    return next((p for p in (here, *here.parents) if (p / "pyproject.toml").exists()), here)


MPDTA = project_root().parent / "shared" / "reference-data" / "mpdta.csv"
USING_MPDTA = MPDTA.exists()
if USING_MPDTA:
    data = pd.read_csv(MPDTA)
    ROLES = {"unit": "countyreal", "time": "year", "entry": "first.treat", "never_treated_value": 0}
    OUTCOME, COVARIATE = "lemp", "lpop"
else:
    print(
        f"note: {MPDTA} was not found; the first part runs on a balanced 2003-2010 extract of "
        "the simulated park economy instead, and the published mpdta numbers are not compared."
    )
    extract = FirmPanel(
        simulate_parks(n_firms=1500, seed=SEED).panel,
        unit="firm_id",
        time="year",
        entry="entry_year",
    )
    data = extract.select_years(2003, 2010).balance().data
    data["log_employment_2003"] = data.groupby("firm_id")["log_employment"].transform("first")
    ROLES = {"unit": "firm_id", "time": "year", "entry": "entry_year"}
    OUTCOME, COVARIATE = "log_output", "log_employment_2003"
panel = FirmPanel(data, **ROLES)
print(panel.describe())

# %% [markdown]
# ## Group-time effects
#
# The defaults reproduce R's `att_gt`: doubly robust 2x2s, never-treated comparison units, a
# *varying* base period (pre-entry cells compare consecutive years) and analytic standard errors
# from the influence functions, clustered by unit.

# %%
cs = CallawaySantAnna(OUTCOME).fit(panel)
print(cs.summary())

# %% [markdown]
# Published reference (R `did` reference manual, examples of `att_gt` and `aggte`): the estimates
# agree to the fourth decimal, and the analytic standard errors agree with independent
# implementations.

# %%
if USING_MPDTA:
    published = pd.Series(
        [-0.0105, -0.0704, -0.1373, -0.1008, 0.0065, -0.0028, -0.0046, -0.0412,
         0.0305, -0.0027, -0.0311, -0.0261],
        index=cs.att.index,
        name="published",
    )  # fmt: skip
    comparison = pd.DataFrame({"parkimpact": cs.att, "published": published})
    print(comparison.round(4))
    largest = (comparison["parkimpact"] - comparison["published"]).abs().max()
    print(f"largest absolute difference: {largest:.5f} (the published values have 4 decimals)")
else:
    print("mpdta not available: no published numbers to compare with.")

# %%
axes = cs.plot()
for ax in np.ravel(axes):
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
plt.show()

# %% [markdown]
# ## Aggregations
#
# With $\theta$ a summary of the $ATT(g, t)$, the four standard aggregations are
#
# - **simple**: $\theta = \sum_{g}\sum_{t \ge g} w_{g} ATT(g, t) / \sum_g\sum_{t\ge g} w_g$ with
#   $w_g = P(G = g)$, the average effect over all treated unit-years;
# - **dynamic** (event study): $\theta(e) = \sum_g 1[g + e \le T]\,
#   P(G = g \mid G + e \le T)\, ATT(g, g + e)$, the effect $e$ years after entry;
# - **group**: $\theta(g) = \frac{1}{T - g + 1}\sum_{t \ge g} ATT(g, t)$, the average effect of
#   cohort $g$, and their cohort-size-weighted average;
# - **calendar**: $\theta(t)$, the average effect in year $t$ across cohorts treated by then.
#
# Their standard errors use the influence functions of the $ATT(g, t)$ plus the estimation of the
# weights.

# %%
aggregates = {kind: cs.aggregate(kind) for kind in ("simple", "dynamic", "group", "calendar")}
overall = pd.DataFrame(
    {kind: {"estimate": a.estimate, "std. error": a.std_error} for kind, a in aggregates.items()}
).T
if USING_MPDTA:
    overall["published"] = [-0.0400, -0.0772, -0.0310, -0.0417]
overall.round(4)

# %% [markdown]
# ## Simultaneous inference for event studies
#
# Pointwise 95 % intervals cover each $\theta(e)$ with probability 0.95, but the whole event-study
# path only with a lower probability. The multiplier bootstrap (Rademacher weights on the influence
# functions) gives a **uniform band**, $\hat\theta(e) \pm c_{1-\alpha}\,\widehat{se}(e)$ with
# $c_{1-\alpha}$ the quantile of $\max_e |\hat\theta^*(e) - \hat\theta(e)| / \widehat{se}(e)$, that
# covers the whole path with probability 0.95 (Montiel Olea and Plagborg-Moller 2019).

# %%
cs_boot = CallawaySantAnna(OUTCOME, inference="bootstrap", n_bootstrap=999, seed=SEED).fit(panel)
dynamic = cs_boot.aggregate("dynamic")
print(f"uniform critical value: {dynamic.uniform_critical_value:.2f} (pointwise: 1.96)")
ax = dynamic.plot()
ax.set_title("Event study: pointwise intervals and uniform band", loc="left")
plt.show()

# %% [markdown]
# ## Pre-trends
#
# The pre-entry cells (under a varying base period, the year-on-year changes before entry) should be
# zero under parallel trends and no anticipation. The summary above reports a Wald test that all of
# them are zero. Passing a pre-test is not evidence that trends are parallel after entry, and
# conditioning the analysis on passing it distorts inference (Roth 2022); the sensitivity analysis
# below is the better tool.
#
# ## Robustness: covariates, comparison group and 2x2 estimator
#
# Conditioning on covariates (here the unit's covariate at the base year), using not-yet-treated
# units as additional controls, or switching the 2x2 estimator are the standard robustness checks.

# %%
variants = {
    "DR, never": CallawaySantAnna(OUTCOME),
    "DR, covariate": CallawaySantAnna(OUTCOME, covariates=[COVARIATE]),
    "DR, not yet": CallawaySantAnna(
        OUTCOME, covariates=[COVARIATE], control_group="not_yet_treated"
    ),
    "IPW": CallawaySantAnna(OUTCOME, covariates=[COVARIATE], method="ipw"),
    "Outcome reg.": CallawaySantAnna(OUTCOME, covariates=[COVARIATE], method="reg"),
}
simple_effects = [est.fit(panel).aggregate("simple") for est in variants.values()]
table(simple_effects, model_names=list(variants), title="Simple ATT under alternative choices")

# %% [markdown]
# ## TWFE and Sun-Abraham on the same data
#
# On this panel the static TWFE coefficient is close to the simple ATT, because most of its weight
# is on clean treated-vs-never-treated comparisons (see the Bacon decomposition). The
# interaction-weighted event study of Sun and Abraham (2021) estimates cohort-by-event-time effects
# in one regression and averages them with cohort shares; with never-treated controls and no
# covariates its post-entry coefficients match the Callaway-Sant'Anna dynamic aggregation with a
# universal base period (and so does every pre-entry coefficient).

# %%
twfe = TwoWayFE(OUTCOME).fit(panel)
print(f"TWFE: {twfe.params['in_park']:.4f} (SE {twfe.std_errors['in_park']:.4f})")
if panel.is_balanced:
    print(BaconDecomposition(OUTCOME).fit(panel).summary_by_type())
sun_abraham = SunAbraham(OUTCOME).fit(panel)
sun_abraham.tidy()[["term", "event_time", "estimate", "std_error"]]

# %% [markdown]
# ## How robust is the conclusion to violations of parallel trends?
#
# Rambachan and Roth (2023) bound the post-entry violation of parallel trends by the pre-entry
# ones. Under **relative magnitudes**, the change in the trend violation between consecutive
# post-entry years is at most $\bar M$ times the largest change before entry; the method reports
# confidence sets for the target effect that are valid for every violation allowed, and the
# **breakdown value** of $\bar M$ at which the set first includes zero.
#
# Pre-entry coefficients must be relative to a common reference year for this, so we refit with a
# universal base period and pass the event-study coefficients and their influence-function
# covariance. The target is the average of the post-entry effects (the dynamic "overall"
# effect).

# %%
universal = CallawaySantAnna(OUTCOME, base_period="universal").fit(panel).aggregate("dynamic")
effects = universal.effects[universal.effects["event_time"] != -1]  # the reference year
names = list(universal.influence.names)
rows = [names.index(f"event_time={e}") for e in effects["event_time"]]
sigma = universal.influence.vcov()[np.ix_(rows, rows)]
n_pre = int((effects["event_time"] < 0).sum())
honest = HonestDiD(
    restriction="relative_magnitudes",
    m_values=[0.0, 0.25, 0.5, 1.0, 1.5],
    target="average_post",
    seed=SEED,
).fit_arrays(effects["estimate"].to_numpy(), sigma, n_pre, len(effects) - n_pre)
print(honest.summary())

# %% [markdown]
# With exactly parallel trends after entry ($\bar M = 0$) the robust interval is the conventional
# one. If the trend violation may change after entry by up to half of the largest change seen
# before entry, zero can no longer be excluded: the conclusion holds only under fairly strict
# limits on post-entry trend breaks. Reporting this breakdown value is more informative than a
# pre-test.
#
# ## The simulated park economy
#
# The simulated parks have 26 years, about 25 entry cohorts (many of them small), effects that grow
# after entry and trends that differ with firm characteristics. The truth is known, so each choice
# can be checked. The covariates are the firm characteristics that drive entry, measured when the
# firm is first observed.

# %%
sim = simulate_parks(n_firms=2000, seed=SEED)
covariates = sim.truth.covariates.set_index("firm_id")
dummies = pd.get_dummies(
    covariates[["industry", "size_class", "rd_type", "age_group"]], drop_first=True, dtype=float
)
CONTROLS = list(dummies.columns)
frame = sim.panel.join(covariates[["size_class"]], on="firm_id").join(dummies, on="firm_id")
parks = FirmPanel(
    frame,
    unit="firm_id",
    time="year",
    entry="entry_year",
    exit="exit_year",
    industry="industry",
    exits="keep_treated",
)
truth = sim.truth.aggregates.query("outcome == 'log_output'")
true_simple = truth.query("kind == 'simple'")["att"].item()
print(f"true simple ATT on log output: {true_simple:.4f}")

# %%
park_variants = {
    "no covariates": CallawaySantAnna("log_output"),
    "DR, covariates": CallawaySantAnna("log_output", covariates=CONTROLS),
    "DR, not yet treated": CallawaySantAnna(
        "log_output", covariates=CONTROLS, control_group="not_yet_treated"
    ),
    "outcome regression": CallawaySantAnna("log_output", covariates=CONTROLS, method="reg"),
}
park_fits = {name: est.fit(parks) for name, est in park_variants.items()}
park_simple = (
    pd.DataFrame({name: fit.aggregate("simple").tidy().iloc[0] for name, fit in park_fits.items()})
    .T[["estimate", "std_error", "conf_low", "conf_high"]]
    .astype(float)
)
park_simple["truth"] = true_simple
park_simple.round(4)

# %% [markdown]
# Without covariates the estimate is far too large: tenants are on steeper trends. With the
# covariates, each estimator covers the truth.
#
# **The joint pre-test with many small cohorts.** The summary of a fit reports a Wald test over all
# pre-entry cells, here several hundred. Each cohort's cells are estimated from a handful of firms,
# so their joint covariance matrix is poorly estimated and the test over-rejects. A test on the
# aggregated pre-entry event-study coefficients is better behaved.

# %%
fit = park_fits["DR, covariates"]
print(f"all pre-entry cells: W = {fit.pretest.statistic:.0f}, df = {fit.pretest.df}")
event_study = fit.aggregate("dynamic", min_e=-8, max_e=10)
pre = event_study.effects.query("event_time < 0")
names = list(event_study.influence.names)
rows = [names.index(f"event_time={e}") for e in pre["event_time"]]
v_pre = event_study.influence.vcov()[np.ix_(rows, rows)]
wald = float(pre["estimate"] @ np.linalg.solve(v_pre, pre["estimate"]))
p_value = stats.chi2.sf(wald, len(pre))
print(f"event-study leads -8..-1: W = {wald:.1f}, df = {len(pre)}, p = {p_value:.3f}")

# %%
true_path = truth.query("kind == 'dynamic'").astype({"key": float})
true_path = true_path[true_path["key"].between(-8, 10)]
ax = event_study.plot()
ax.plot(true_path["key"], true_path["att"], "k--", label="truth")
ax.legend(frameon=False)
ax.set_title("Simulated parks: event study of log output", loc="left")
plt.show()

# %% [markdown]
# ## Heterogeneity
#
# `by` runs the estimator within subgroups and tests equality of the overall effects. Parks help
# small firms most in this economy. Within size classes we use the outcome-regression 2x2 and the
# remaining covariates: the large-firm subgroup is small, and some of its cells have no comparison
# firm with the same characteristics, which rules out a propensity score there. The truth is
# computed from the simulator's firm-level effects with the same cell weights.

# %%
by_size = CallawaySantAnna(
    "log_output",
    covariates=[c for c in CONTROLS if not c.startswith("size_class")],
    method="reg",
    by="size_class",
).fit(parks)
heterogeneity = by_size.aggregate("simple")
effects = sim.truth.firm_effects.join(covariates["size_class"], on="firm_id")
effects = effects[effects["cohort"] > sim.settings["first_year"]]
cells = (
    effects[effects["event_time"] >= 0]
    .groupby(["size_class", "cohort", "year"])["log_output"]
    .mean()
    .rename("att")
    .reset_index()
)
sizes = effects.groupby(["size_class", "cohort"])["firm_id"].nunique().rename("n_firms")
cells = cells.join(sizes, on=["size_class", "cohort"])
true_by_size = cells.groupby("size_class")[["att", "n_firms"]].apply(
    lambda c: np.average(c["att"], weights=c["n_firms"])
)
print(heterogeneity.overall.assign(truth=true_by_size))
print(heterogeneity.equality_test)

# %% [markdown]
# Small and medium firms are estimated close to the truth. The large-firm estimate rests on one to
# four firms per cohort, and several of its cells have no comparison firm at all: it is too noisy
# to say anything, which is what its standard error reports.

# %% [markdown]
# ## Take-aways
#
# - Estimate $ATT(g, t)$ against clean comparison units, then aggregate explicitly: the dynamic
#   aggregation is the event study, the simple one the headline effect.
# - Conditional parallel trends need the covariates that drive both entry and outcome trends; the
#   doubly robust 2x2 is consistent if either the propensity score or the outcome model is right.
# - Report uniform bands for event studies and a sensitivity analysis instead of relying on
#   pre-tests.
#
# **Exercises.** (i) On the parks, compare `anticipation=1` with the default: does the estimate
# move? (ii) Use `base_period="universal"` for the park event study: how do the leads change?
# (iii) Estimate the effect on `patents` with `by="size_class"`.
#
# ## References
#
# - Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
#   periods. *Journal of Econometrics* 225(2), 200-230.
# - Montiel Olea, J. L. and Plagborg-Moller, M. (2019). Simultaneous confidence bands: theory,
#   implementation, and an application to SVARs. *Journal of Applied Econometrics* 34(1), 1-17.
# - Rambachan, A. and Roth, J. (2023). A more credible approach to parallel trends. *Review of
#   Economic Studies* 90(5), 2555-2591.
# - Roth, J. (2022). Pretest with caution: event-study estimates after testing for parallel trends.
#   *American Economic Review: Insights* 4(3), 305-322.
# - Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences estimators.
#   *Journal of Econometrics* 219(1), 101-122.
# - Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event studies with
#   heterogeneous treatment effects. *Journal of Econometrics* 225(2), 175-199.
