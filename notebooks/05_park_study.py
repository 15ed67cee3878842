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
# # 5. The full park study with `ImpactStudy`
#
# Notebooks 2 and 4 estimated productivity and staggered effects one estimator at a time. An
# evaluation of science parks chains them: productivity is *estimated*, then used as an outcome,
# and the standard errors of the final effects should carry the uncertainty of every step.
# `parkimpact.ImpactStudy` composes the stages through one `FirmPanel`:
#
# 1. **TFP**: a production function (here ACF by industry, with park entry in the law of motion
#    of productivity) is fitted and its productivity added to the panel as the outcome `tfp`;
# 2. **effects**: the doubly robust Callaway-Sant'Anna estimator (CS-DR) on every outcome, with
#    overall, event-time and, for counts, proportional effects;
# 3. **heterogeneity**: the same DiD within subgroups (`by`), with a test of equal effects;
# 4. **inference**: every number gets a *conditional* standard error (the DiD's analytic SE, TFP
#    taken as data) and a *whole-pipeline* one (a firm-cluster bootstrap that re-runs stages 1-3
#    on every resample).
#
# We run it on the simulated park economy of notebooks 1 and 4, where every true effect is known.
# The bootstrap here has only a handful of replications so that the notebook runs in well under a
# minute; a real study uses 199 or more (the flagship analysis, `parkimpact run`, shows how).
# The methods page `docs/methods/study.md` gives every formula.
#
# Run time: 10 to 40 seconds on two cores, depending on their load.

# %%
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from parkimpact import FirmPanel, ImpactStudy
from parkimpact.datasets import simulate_parks
from parkimpact.did import CallawaySantAnna
from parkimpact.study import SE_TYPES
from parkimpact.tfp import ACF

pd.set_option("display.precision", 4)
pd.set_option("display.width", 110)
pd.set_option("display.max_colwidth", 90)
SEED = 5  # the economy
BOOT_SEED = 2025  # the bootstrap
BOOTSTRAP = 9  # whole-pipeline replications: enough to run, far too few to publish
warnings.simplefilter("once")

# %% [markdown]
# ## 1. The simulated economy and the panel
#
# 800 firms observed from 2003 to 2020; about a quarter enter one of three parks, in cohorts of
# 5-17 firms. Entry depends on industry, size class, R&D intensity and age, and untreated trends
# differ across industries, so parallel trends hold only conditionally. We condition on industry
# (dummies, measured before entry; they never change) and keep the size class to study
# heterogeneity. R&D enters as $\ln(1 + \text{R\&D})$, which keeps firms with no R&D in a year.

# %%
sim = simulate_parks(n_firms=800, first_year=2003, seed=SEED)
traits = sim.truth.covariates.set_index("firm_id")
industry = pd.get_dummies(traits["industry"], prefix="ind", drop_first=True, dtype=float)
INDUSTRY = list(industry.columns)
size_group = traits["size_class"].where(traits["size_class"] == "small", "medium or large")
frame = (
    sim.panel.assign(log_rd=np.log1p(sim.panel["rd"]))
    .join(industry, on="firm_id")
    .join(size_group.rename("size_group"), on="firm_id")
)
panel = FirmPanel(
    frame,
    unit="firm_id",
    time="year",
    entry="entry_year",
    exit="exit_year",
    industry="industry",
    exits="keep_treated",
)
print(panel.describe())
sim.truth.cohorts.set_index("cohort")["n_firms"].to_frame().transpose()

# %% [markdown]
# ## 2. The study is a configuration
#
# Like every estimator in parkimpact, `ImpactStudy` only stores its settings; data go to `fit`.
# The TFP stage is the ACF estimator of notebook 2 on value added, fitted separately by industry,
# with last year's park status in the law of motion (De Loecker 2013):
#
# $$\omega_{it} = g(\omega_{i,t-1}) + \gamma\,D_{i,t-1} + \xi_{it}.$$
#
# Leaving $D_{i,t-1}$ out would treat the park's effect on productivity growth as part of the
# innovation $\xi_{it}$, which the moment conditions assume unpredictable from the past.
#
# The DiD stage is CS-DR with never-treated comparison firms: for cohort $g$ and year $t$,
# $ATT(g,t)$ compares the change $\Delta Y = Y_t - Y_{g-1}$ of the cohort with that of comparison
# firms reweighted by a logit propensity score and net of an outcome regression on the
# covariates. The study reports the *simple* aggregation, the cohort-share weighted mean of the
# post-entry cells, and the *dynamic* one, $\theta(e)$ at each event time $e = t - g$.
#
# Patent counts are skewed: an extra patent means much more to a firm with one patent a year
# than to one with fifty. For `count_outcomes` the study also reports the **proportional
# effect**
#
# $$\rho = \frac{\theta}{\mu_1 - \theta} = \frac{ATT}{\mathrm E[Y(0)\mid \text{treated}]},$$
#
# where $\mu_1$ is the tenants' mean outcome over the same post-entry cells and with the same
# weights as $\theta$, so that $\mu_1 - \theta$ estimates their mean without the park. Its
# conditional SE is the delta method on the influence functions of $\theta$ and $\mu_1$.
#
# Subgroups: entry cohorts of large firms hold one or two firms, too few for a propensity score
# within them, so we compare small firms with the others, using the outcome-regression DiD
# (`method="reg"`) within each group. `pre_entry_years=3` keeps three years before entry for
# tenants: the pre-trend cells further back are not needed for the effects and hold few firms.
# With the default *varying* base period a pre-entry cell compares year $t$ with $t - 1$, so three
# years before entry give the leads $e = -2$ and $e = -1$; hence `event_window=(-2, 6)`.

# %%
tfp_stage = ACF(
    output="log_value_added",
    free="log_employment",
    state="log_capital",
    proxy="log_materials",
    by="industry",
    law_of_motion_controls=("in_park",),
    n_grid=64,
    n_polish=3,
)
study = ImpactStudy(
    outcomes=["log_rd", "patents"],
    tfp=tfp_stage,
    did=CallawaySantAnna("y", method="dr", control_group="never_treated"),
    covariates=INDUSTRY,
    count_outcomes=["patents"],
    by=["size_group"],
    by_did=CallawaySantAnna("y", method="reg"),
    event_window=(-2, 6),
    pre_entry_years=3,
    bootstrap=BOOTSTRAP,
    seed=BOOT_SEED,
    n_jobs=1,  # -1 uses every core; the draws do not depend on it
)

# %% [markdown]
# `plan()` resolves the settings into the stages the study will run; nothing is estimated yet.
# Note that TFP comes first among the outcomes: the TFP stage adds it.

# %%
plan = study.plan()
pd.Series(
    {
        "1. TFP": f"ACF by {tfp_stage.by}, {tfp_stage.kind}, law of motion with "
        f"{list(tfp_stage.law_of_motion_controls)} -> column '{study.tfp_column}'",
        "2. outcomes": ", ".join(plan.outcomes),
        "3. DiD": f"CallawaySantAnna(method={plan.did.method!r}, "
        f"control_group={plan.did.control_group!r})",
        "   covariates": ", ".join(plan.covariates),
        "   proportional effect for": ", ".join(sorted(plan.count_outcomes)),
        "   event window": str(plan.window),
        "   tenants' pre-entry years kept": str(plan.pre_entry_years),
        "4. subgroups": f"by {list(plan.by)}, CallawaySantAnna(method={plan.by_did.method!r})",
        "5. inference": f"conditional SEs; whole-pipeline bootstrap, {study.bootstrap} "
        f"replications, seed {study.seed}",
    },
    name="setting",
).to_frame()

# %% [markdown]
# ## 3. Fitting
#
# `fit` runs the stages on the panel, then the bootstrap: each replication draws 800 firms with
# replacement (a firm drawn twice counts as two firms), re-fits the production function by
# industry (a local search started at the point estimate), recomputes TFP, re-runs every DiD with
# its propensity scores and outcome regressions, and re-aggregates. Replication $b$ uses the
# $b$-th child of the seed's `SeedSequence`, so the draws are identical for any `n_jobs`.

# %%
start = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # small-cohort warnings, one per cohort and outcome
    result = study.fit(panel)
print(f"{time.perf_counter() - start:.1f} s")
print(repr(result))
print(result.summary())

# %% [markdown]
# The result holds every stage: `result.tfp` (the production functions), `result.panel` (the
# estimation panel with `tfp`; its drop report lists the pre-entry years removed), `result.did`
# (one `GroupTimeATT` per outcome), `result.aggregates`, `result.subgroups`,
# `result.subgroup_tests` and `result.bootstrap` (the replications). The summary shows the DiD
# template as given, then the study's `covariates`, which replace the template's.
#
# The production functions first, with the law-of-motion coefficient on last year's park status.
# The simulator's technology is Cobb-Douglas in *gross output*, with elasticities $\beta_l$,
# $\beta_k$, $\beta_m$ and productivity $\omega$. When materials are chosen optimally, value added
# is Cobb-Douglas in labour and capital with elasticities $\beta/(1 - \beta_m)$ and productivity
# $\omega/(1 - \beta_m)$: these are the truths of the value-added function ACF estimates here.

# %%
elasticities = pd.DataFrame(
    {
        group: {**fit.params.to_dict(), "lag in_park": fit.law_of_motion["lag in_park"]}
        for group, fit in result.tfp.results.items()
    }
).T
beta_m = sim.truth.elasticities["materials"]
elasticities.loc["truth (value added)"] = [
    sim.truth.elasticities["labour"] / (1 - beta_m),
    sim.truth.elasticities["capital"] / (1 - beta_m),
    np.nan,
]
elasticities.round(3)

# %% [markdown]
# The elasticities scatter widely around the truth, from 70 to 180 firms per industry; in some
# industries labour takes a share that belongs to capital. Keep this in mind below: the TFP
# effect inherits whatever the production function gets wrong, through the park's effect on the
# inputs ($\hat\omega = \hat\phi - \hat\beta_l l - \hat\beta_k k$, and tenants hire and invest).
# The whole-pipeline bootstrap measures how much $\hat\beta$ *varies* from sample to sample and
# carries that into the SE of the TFP effect; it cannot detect a bias of $\hat\beta$.
#
# ## 4. Two standard errors, side by side
#
# `tidy()` is the one long table every report is built from. Each number appears once per kind of
# standard error, labelled in `se_type`:

# %%
for kind, meaning in SE_TYPES.items():
    print(f"{kind}: {meaning}\n")
tidy = result.tidy(se="both")
shown = ["outcome", "estimand", "by", "subgroup", "se_type", "estimate", "std_error"]
tidy.loc[tidy["estimand"] != "dynamic", [*shown, "conf_low", "conf_high"]]

# %% [markdown]
# What each one is conditional on:
#
# - **conditional** (the DiD's influence-function SE, by firm): includes the estimation of every
#   propensity score, outcome regression and cohort share *inside* the DiD, but treats the `tfp`
#   column as data. It is conditional on the production-function estimates $\hat\beta$ and
#   therefore too small for the TFP effect. For `log_rd` and `patents`, which involve no
#   first stage, it is the right SE; the bootstrap should agree with it up to simulation noise.
# - **whole_pipeline**: the standard deviation of the estimates over the replications. It also
#   includes the estimation of the production function. It is conditional only on the design:
#   firms are the sampling units, and the entry years and covariates travel with them.
#
# With $B$ replications the bootstrap SE is itself uncertain: its relative standard deviation is
# about $1/\sqrt{2(B-1)}$, 25% with $B = 9$. Differences between the two columns of a few tens of
# percent are therefore noise here, whatever their sign; the column `bootstrap SE noise` gives the
# scale. In the flagship analysis (1,000 firms, 29 replications, so about 13% noise) the
# whole-pipeline SEs are 2-20% above the conditional ones, 13% for the TFP effect: consistent
# with a modest contribution of the first stage, which 29 draws cannot pin down.
# `n_failed` counts the replications in which a block could not be estimated (for instance a
# propensity score that separates a small cohort); its numbers then use the other draws.

# %%
head = result.headline().set_index(["outcome", "estimand"])
side = head[["estimate", "std_error_conditional", "std_error_whole_pipeline", "n_failed"]].copy()
side["ratio"] = side["std_error_whole_pipeline"] / side["std_error_conditional"]
side["bootstrap SE noise"] = side["std_error_whole_pipeline"] / np.sqrt(2 * (BOOTSTRAP - 1))
side.round(4)

# %% [markdown]
# `tidy()` builds normal intervals, estimate $\pm z\,$SE. The replications are kept in
# `result.bootstrap`, one column per number, named `outcome|estimand|by|subgroup|event_time`, so
# percentile intervals are one call away (with 9 draws they are little more than the extreme
# draws: use them only with hundreds of replications).

# %%
boot = result.bootstrap
percentile = pd.DataFrame(
    boot.conf_int(level=0.95, method="percentile"),
    index=list(boot.names),
    columns=["2.5%", "97.5%"],
)
percentile.loc[[name for name in boot.names if "|dynamic|" not in name]]

# %% [markdown]
# ## 5. Against the truth
#
# The simulator records each tenant's effect exactly, so each estimate can be set beside its
# target, aggregated with the same cohort weights. Two conversions:
#
# - the simulator's productivity $\omega$ is gross-output TFP; the study estimates value-added
#   TFP, which moves by $\Delta\omega / (1 - \beta_m)$ (section 3), so we scale the true TFP
#   effects by $1/(1 - \beta_m) = 2.5$;
# - the true proportional effect is $\theta/(\mu_1 - \theta)$ with the true $\theta$ and the
#   tenants' observed post-entry mean $\mu_1$.

# %%
aggregates = sim.truth.aggregates
SCALE = {"tfp": 1 / (1 - beta_m)}


def true_effect(outcome, kind="simple"):
    """True aggregate of the simulator in the units of the study's outcome."""
    rows = aggregates.query("outcome == @outcome and kind == @kind")
    values = rows.set_index("key")["att"] * SCALE.get(outcome, 1.0)
    return values.iloc[0] if kind == "simple" else values


def post_entry_mean(data, outcome):
    """Tenants' mean outcome over the post-entry cells, weighted by cohort size."""
    sizes = sim.truth.cohorts.set_index("cohort")["n_firms"]
    tenants = data[data["entry_year"].isin(sizes.index) & (data["year"] >= data["entry_year"])]
    cells = tenants.groupby(["entry_year", "year"])[outcome].mean().reset_index()
    return np.average(cells[outcome], weights=sizes.reindex(cells["entry_year"]))


truth = {(o, "simple"): true_effect(o) for o in result.outcomes}
theta, mu1 = true_effect("patents"), post_entry_mean(panel.data, "patents")
truth[("patents", "proportional")] = theta / (mu1 - theta)
compare = side[["estimate", "std_error_conditional", "std_error_whole_pipeline"]].assign(
    truth=pd.Series(truth)
)
error = compare["estimate"] - compare["truth"]
compare["error / SE conditional"] = error / compare["std_error_conditional"]
compare["error / SE whole-pipeline"] = error / compare["std_error_whole_pipeline"]
compare.round(4)

# %% [markdown]
# Every estimate lies within about two standard errors of its truth. The TFP effect is the one
# that sits furthest above it: part of that is sampling noise, part the production function
# discussed above.
#
# The dynamic effects on TFP follow the true path: the park shifts the law of motion, and the
# shift accumulates through the persistence of productivity. The bars are the conditional 95%
# intervals, the grey band the whole-pipeline one.

# %%
rows = result.estimates.query("outcome == 'tfp' and estimand == 'dynamic'")
true_path = true_effect("tfp", "dynamic").reindex(rows["event_time"])
z = 1.96
fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
ax.fill_between(
    rows["event_time"],
    rows["estimate"] - z * rows["std_error_whole_pipeline"],
    rows["estimate"] + z * rows["std_error_whole_pipeline"],
    color="0.85",
    label="95% CI, whole pipeline",
)
ax.errorbar(
    rows["event_time"],
    rows["estimate"],
    yerr=z * rows["std_error_conditional"],
    fmt="o",
    capsize=3,
    label="estimate, 95% CI conditional",
)
ax.plot(true_path.index, true_path.to_numpy(), "k--", label="truth")
ax.axhline(0, color="0.5", lw=0.8)
ax.axvline(-0.5, color="0.5", lw=0.8, ls=":")
ax.set_xlabel("years since park entry")
ax.set_ylabel("effect on TFP (value added)")
ax.legend(frameon=False, fontsize=8)
plt.show()

# %% [markdown]
# ## 6. Heterogeneity
#
# Parks raise the productivity and R&D of small firms most in this economy (the effect multiplier
# is 1.5 for small, 1.0 for medium and 0.6 for large firms). The subgroup rows carry conditional
# SEs only; `bootstrap_subgroups=True` re-runs the subgroup fits in every replication too, at the
# cost of one more fit per outcome and `by` column. The truth within a group is the simple
# aggregation of the true firm-level effects of its tenants.

# %%
effects = sim.truth.firm_effects
effects = effects[effects["cohort"].isin(sim.truth.cohorts["cohort"])]
effects = effects.assign(size_group=effects["firm_id"].map(size_group))


def true_by_group(outcome):
    """Simple aggregation of the true effects within each size group."""
    cells = effects.groupby(["size_group", "cohort", "year"])[outcome].mean().rename("att")
    sizes = effects.groupby(["size_group", "cohort"])["firm_id"].nunique().rename("n")
    cells = cells.reset_index().merge(sizes.reset_index(), on=["size_group", "cohort"])
    total = (cells["att"] * cells["n"]).groupby(cells["size_group"]).sum()
    return total / cells["n"].groupby(cells["size_group"]).sum() * SCALE.get(outcome, 1.0)


groups = result.estimates.query("by == 'size_group'")
groups = groups[["outcome", "subgroup", "estimate", "std_error_conditional"]].copy()
groups["truth"] = [
    true_by_group(o)[g] for o, g in zip(groups["outcome"], groups["subgroup"], strict=True)
]
tests = result.subgroup_tests.set_index("outcome")["p_value"]
groups["p (equal effects)"] = groups["outcome"].map(tests)
groups.set_index(["outcome", "subgroup"])

# %% [markdown]
# The true effects of small firms on TFP and R&D are about a third larger than those of the
# others. The estimates, with standard errors of a fifth to a half of the effects, cannot see it
# (here they even put the groups in the wrong order), and the Wald test of equal effects does not
# reject. Detecting heterogeneity takes far more data than estimating an average effect.
# `result.notes` lists anything a subgroup fit had to drop.

# %%
print("\n".join(result.notes) or "no notes")

# %% [markdown]
# ## Take-aways
#
# - A study is a configuration: the stages, covariates, windows and seeds are stated before any
#   data are seen, and `plan()` shows what will run.
# - TFP is an estimate. Standard errors that take it as data are *conditional* on the production
#   function; the whole-pipeline bootstrap re-runs every stage on resampled firms. Report which
#   one every table shows; `tidy()` labels each row.
# - For outcomes without a first stage the two SEs estimate the same thing; their gap is bootstrap
#   noise, which shrinks only with more replications.
# - Counts are best read as proportional effects, $ATT / \mathrm E[Y(0)\mid\text{treated}]$.
#
# **Exercises.**
# (i) Drop `in_park` from the law of motion (`law_of_motion_controls=()`): how do the TFP effect
# and its two SEs change, and why does the bias go the way it does?
# (ii) Raise `BOOTSTRAP` to 49 and re-run: how much do the whole-pipeline SEs of `log_rd` and
# `patents` move, and how close do they come to the conditional ones? Run it again with
# `n_jobs=2` and check that `result.bootstrap.estimates` is unchanged.
# (iii) Replace the DiD template by PSM-DiD,
# `did=PSMDiD("y", covariates=["log_employment"], trend_years=0, window=(-3, 4))` (from
# `parkimpact.matching`, without `covariates=` in the study), and compare its post-entry average
# with the truth of event times 0-4.
#
# ## References
#
# - Ackerberg, D. A., Caves, K. and Frazer, G. (2015). Identification properties of recent
#   production function estimators. *Econometrica* 83(6), 2411-2451.
# - Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
#   periods. *Journal of Econometrics* 225(2), 200-230.
# - Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008). Bootstrap-based improvements for
#   inference with clustered errors. *Review of Economics and Statistics* 90(3), 414-427.
# - De Loecker, J. (2013). Detecting learning by exporting. *American Economic Journal:
#   Microeconomics* 5(3), 1-21.
# - Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.
# - Fukugawa, N. and Chang, C.-C. (2025). RIETI Discussion Paper 25-E-005 (science parks in
#   Taiwan: staggered entry, AIPW and difference-in-differences on R&D, PhD employment, TFP and
#   patent quality).
# - Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences estimators.
#   *Journal of Econometrics* 219(1), 101-122.
