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
# # 1. Why naive in-vs-out comparisons and two-way fixed effects mislead
#
# Science parks are evaluated by asking whether tenants are more productive, more innovative or
# larger than firms outside. This notebook shows, on a simulated economy where the true effects are
# known, why the two most common answers are wrong:
#
# 1. **the naive in-vs-out comparison** confuses the effect of the park with the selection of firms
#    into it;
# 2. **the two-way fixed effects (TWFE) regression** removes time-invariant selection but, with
#    staggered entry and effects that build up after entry, it averages comparisons that use
#    already-treated firms as controls, and it still needs parallel trends.
#
# Run time: about 15 seconds on two cores.
#
# **Notation.** Firm $i$ in year $t$ has potential outcomes $Y_{it}(1)$ (as a tenant) and
# $Y_{it}(0)$ (outside any park); $D_{it} = 1[t \ge G_i]$ indicates tenancy for a firm entering in
# year $G_i$ (entry is treated as absorbing); the observed outcome is
# $Y_{it} = D_{it}Y_{it}(1) + (1 - D_{it})Y_{it}(0)$.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from parkimpact import FirmPanel
from parkimpact.datasets import simulate_parks
from parkimpact.did import BaconDecomposition, CallawaySantAnna, EventStudy, TwoWayFE

pd.set_option("display.precision", 4)
pd.set_option("display.width", 110)
SEED = 4  # every random draw below comes from this seed
# parkimpact warns whenever rows are dropped or cohorts are small; show each message once
warnings.simplefilter("once")

# %% [markdown]
# ## The simulated park economy
#
# `simulate_parks` generates a Taiwan-like economy of high-tech firms, a quarter of which enter one
# of three science parks at staggered dates. Parks raise productivity, R&D, PhD employment and
# patenting with effects that grow after entry. Entry depends on observable, time-invariant firm
# characteristics (industry, size class, R&D intensity, age), and those characteristics also shape
# how outcomes evolve without a park: parallel trends hold *conditionally* on them, not
# unconditionally.
#
# We simulate the economy twice with the same random draws: the real world, and a **placebo
# world** (`effect_scale=0`) where parks have no effect at all. The same firms exist, enter parks
# and die in both worlds, so the placebo world shows the untreated outcomes $Y_{it}(0)$ of every
# firm, tenants included.

# %%
real = simulate_parks(n_firms=1500, seed=SEED)
placebo = simulate_parks(n_firms=1500, seed=SEED, effect_scale=0.0)
print(real.truth.description)


# %%
def park_panel(sim):
    """The simulated panel with its roles; firms leaving a park stay treated."""
    return FirmPanel(
        sim.panel,
        unit="firm_id",
        time="year",
        entry="entry_year",
        exit="exit_year",
        park="park",
        industry="industry",
        exits="keep_treated",
    )


panel, panel0 = park_panel(real), park_panel(placebo)
print(panel)

# %% [markdown]
# ## 1. The naive in-vs-out comparison
#
# Compare the mean log output of tenants and other firms in one year $t$. Adding and subtracting
# $E[Y_{it}(0) \mid D_{it} = 1]$ splits the difference into two terms:
#
# $$
# \underbrace{E[Y_{it} \mid D_{it}=1] - E[Y_{it} \mid D_{it}=0]}_{\text{naive comparison}}
# = \underbrace{E[Y_{it}(1) - Y_{it}(0) \mid D_{it}=1]}_{ATT_t}
# + \underbrace{E[Y_{it}(0) \mid D_{it}=1] - E[Y_{it}(0) \mid D_{it}=0]}_{\text{selection bias}} .
# $$
#
# The selection bias is the gap tenants would show *without* the park. It is not observable in
# real data; here the placebo world reveals it: there every outcome is $Y_{it}(0)$, so the naive
# comparison in the placebo world **is** the selection bias.

# %%
YEAR = 2015


def in_vs_out(panel, outcome="log_output", year=YEAR):
    """Mean outcome of tenants minus mean outcome of the other firms in one year."""
    d = panel.with_derived("in_park").data
    d = d[d["year"] == year]
    return d.loc[d["in_park"] == 1, outcome].mean() - d.loc[d["in_park"] == 0, outcome].mean()


tenants = panel.with_derived("in_park").data.query("year == @YEAR and in_park == 1")["firm_id"]
effects = real.truth.firm_effects.query("year == @YEAR").set_index("firm_id")
att_year = effects.loc[tenants, "log_output"].mean()

naive, bias = in_vs_out(panel), in_vs_out(panel0)
pd.Series(
    {
        "naive comparison (real world)": naive,
        "selection bias (naive comparison, placebo world)": bias,
        "true ATT of tenants in 2015": att_year,
        "naive - selection bias": naive - bias,
    },
    name=f"log output, {YEAR}",
).to_frame()

# %% [markdown]
# The naive gap is several times the true effect: most of it is selection. The decomposition holds
# exactly because firms outside parks have the same outcomes in both worlds (no spillovers in this
# economy).
#
# **Who enters?** Tenants are larger and far more often R&D-intensive than other firms, and they
# come from different industries. Each of these characteristics also moves output, so the
# comparison is confounded.

# %%
covariates = real.truth.covariates.set_index("firm_id")
ever_tenant = panel.data.groupby("firm_id")["entry_year"].first().notna()
ever_tenant = ever_tenant.rename("ever in a park").reindex(covariates.index)
pd.concat(
    {
        name: pd.crosstab(covariates[name], ever_tenant, normalize="columns")
        for name in ["size_class", "rd_type", "industry"]
    }
)

# %% [markdown]
# ## 2. Two-way fixed effects
#
# The panel answer is to difference out what is fixed about a firm and what is common to a year,
#
# $$ Y_{it} = \alpha_i + \lambda_t + \beta D_{it} + \varepsilon_{it}, $$
#
# estimated by least squares after the within transformation. $\beta$ has a causal meaning under two
# assumptions: **parallel trends** (without parks, tenants' outcomes would have moved like the
# others', $E[Y_{it}(0) - Y_{is}(0) \mid G_i = g]$ the same for every $g$), and a **constant
# effect** (the same for every cohort and every year since entry).
#
# In this economy both fail. Let us first look at the placebo world, where every true effect is 0.

# %%
twfe = TwoWayFE("log_output").fit(panel)
twfe0 = TwoWayFE("log_output").fit(panel0)
truth = real.truth.aggregates.query("outcome == 'log_output'")
true_simple = truth.query("kind == 'simple'")["att"].item()
pd.DataFrame(
    {
        "TWFE": [twfe.params["in_park"], twfe0.params["in_park"]],
        "std. error": [twfe.std_errors["in_park"], twfe0.std_errors["in_park"]],
        "true average effect": [true_simple, 0.0],
    },
    index=["real world", "placebo world"],
)

# %% [markdown]
# In the placebo world TWFE finds a large, "significant" park effect: the firm effects $\alpha_i$
# remove differences in *levels*, but tenants are also on steeper *trends* (R&D-intensive and young
# firms grow faster), which TWFE attributes to the park. In the real world the TWFE estimate mixes
# the true effect with the same trend bias.

# %% [markdown]
# ## 3. Staggered entry with effects that build up: the negative-weights problem
#
# Even with parallel trends, TWFE fails when effects vary over time since entry. To isolate that
# problem, take a stylised panel with **exact** parallel trends: 100 firms entering in 2003, 100 in
# 2009 and 30 that never enter, observed 2000-2015, with an effect that grows by 0.04 log points a
# year after entry,
#
# $$ Y_{it} = a_i + 0.02\,(t - 2000) + 0.04\,(t - G_i + 1)\,D_{it} + u_{it}, \qquad
#    u_{it} \sim N(0, 0.05^2). $$
#
# Every true effect is positive.

# %%
rng = np.random.default_rng(SEED)
years = np.arange(2000, 2016)
cohorts = np.repeat([2003.0, 2009.0, np.nan], [100, 100, 30])
firm = np.repeat(np.arange(cohorts.size), years.size)
year = np.tile(years, cohorts.size)
entry = np.repeat(cohorts, years.size)
effect = np.where(year >= entry, 0.04 * (year - entry + 1), 0.0)  # NaN entry compares False
level = np.repeat(rng.normal(0.0, 1.0, cohorts.size), years.size)
toy = pd.DataFrame(
    {
        "firm": firm,
        "year": year,
        "entry": entry,
        "effect": effect,
        "y": level + 0.02 * (year - 2000) + effect + rng.normal(0.0, 0.05, year.size),
    }
)
toy_panel = FirmPanel(toy, unit="firm", time="year", entry="entry")
true_toy = toy.loc[toy["year"] >= toy["entry"], "effect"].mean()
twfe_toy = TwoWayFE("y").fit(toy_panel).params["in_park"]
print(f"true average effect on tenant firm-years: {true_toy:.3f}")
print(f"TWFE estimate:                            {twfe_toy:.3f}")

# %% [markdown]
# TWFE finds a fifth of the true effect. Goodman-Bacon (2021) shows why: with timing groups, the
# TWFE coefficient is a weighted average of all 2x2 difference-in-differences between pairs of
# groups,
#
# $$ \hat\beta^{TWFE} = \sum_{k} s_k\, \hat\beta^{2\times 2}_k, \qquad \sum_k s_k = 1, $$
#
# with weights $s_k$ that grow with group sizes and with the variance of treatment in each pair.
# Among the pairs are **"later vs earlier treated"** comparisons, where the firms that entered in
# 2003 serve as the control group for the 2009 cohort. Their outcomes are still rising because of
# their own growing effect, so that 2x2 subtracts the early cohort's effect growth from the late
# cohort's effect, and can be negative.

# %%
bacon = BaconDecomposition("y").fit(toy_panel)
bacon.comparisons[["type", "treated", "control", "estimate", "weight"]]

# %%
ax = bacon.plot()
ax.axhline(true_toy, color="k", linestyle=":", linewidth=1, label="true average effect")
ax.legend(frameon=False, fontsize=8, loc="center right")
ax.set_title("Goodman-Bacon decomposition of the stylised TWFE estimate")
plt.show()

# %% [markdown]
# Equivalently (de Chaisemartin and D'Haultfoeuille 2020), $\hat\beta^{TWFE}$ is a weighted sum of
# the individual effects in which the weights of late post-entry years of early cohorts can be
# **negative**. The fix is not to regress but to *choose the comparisons*: Callaway and Sant'Anna
# (2021) estimate each group-time effect
#
# $$ ATT(g, t) = E[Y_t - Y_{g-1} \mid G = g] - E[Y_t - Y_{g-1} \mid C = 1] $$
#
# against a clean comparison group $C$ (never-treated firms, or firms not yet treated), and then
# average them with weights chosen by the analyst. Notebook 4 covers the estimator in detail.

# %%
cs_toy = CallawaySantAnna("y").fit(toy_panel)
print(f"Callaway-Sant'Anna simple ATT: {cs_toy.aggregate('simple').estimate:.3f}")

# %% [markdown]
# ## 4. Back to the parks
#
# The simulated economy has both problems. The Bacon decomposition needs a balanced panel, so we
# keep the firms observed in every year (the drop report records the others).

# %%
balanced = panel.balance()
bacon_parks = BaconDecomposition("log_output").fit(balanced)
bacon_parks.summary_by_type()

# %% [markdown]
# "Later vs Always Treated" uses firms that entered before the sample starts as controls; together
# with "Later vs Earlier Treated" these are the comparisons that use tenants as controls. Their
# weight is modest here; the dominant problem in this economy is the trend difference between
# tenants and other firms, which a Callaway-Sant'Anna estimator also suffers from unless it
# conditions on the characteristics that drive both entry and trends.
#
# The simulator records those characteristics, measured when each firm is first observed. We give
# them to the doubly robust Callaway-Sant'Anna estimator as indicators (notebook 5 builds them from
# raw data).

# %%
dummies = pd.get_dummies(
    covariates[["industry", "size_class", "rd_type", "age_group"]], drop_first=True, dtype=float
)
controls = list(dummies.columns)


def with_covariates(panel):
    firm_ids = panel.data["firm_id"]
    return panel.assign(**{c: firm_ids.map(dummies[c]).to_numpy() for c in controls})


rows = {}
for world, p in [("real", panel), ("placebo", panel0)]:
    p = with_covariates(p)
    rows[("TWFE", world)] = TwoWayFE("log_output").fit(p).tidy().iloc[0]
    cs_plain = CallawaySantAnna("log_output").fit(p).aggregate("simple")
    rows[("CS, no covariates", world)] = cs_plain.tidy().iloc[0]
    cs_cov = CallawaySantAnna("log_output", covariates=controls).fit(p).aggregate("simple")
    rows[("CS-DR, covariates", world)] = cs_cov.tidy().iloc[0]
summary = pd.DataFrame(rows).T[["estimate", "std_error", "conf_low", "conf_high"]]
summary["truth"] = [true_simple if w == "real" else 0.0 for _, w in summary.index]
summary.astype(float)

# %% [markdown]
# Only the doubly robust estimator with covariates finds no effect in the placebo world and covers
# the truth in the real one. ("Truth" is the simulator's simple ATT with Callaway-Sant'Anna weights;
# the TWFE coefficient estimates no well-defined average of effects, so the comparison is only
# indicative for it.)
#
# ## 5. Event studies
#
# Dynamic specifications make the trend problem visible. The TWFE event study replaces $D_{it}$ by
# leads and lags $1[t - G_i = e]$ (reference $e = -1$); under staggered adoption its coefficients
# are contaminated by effects at other horizons (Sun and Abraham 2021). The Callaway-Sant'Anna
# dynamic aggregation averages $ATT(g, g + e)$ across cohorts.

# %%
es = EventStudy("log_output", window=(-6, 8), seed=SEED).fit(panel)
cs_dynamic = (
    CallawaySantAnna("log_output", covariates=controls)
    .fit(with_covariates(panel))
    .aggregate("dynamic", min_e=-6, max_e=8)
)
true_dynamic = truth.query("kind == 'dynamic'").astype({"key": float})
true_dynamic = true_dynamic[true_dynamic["key"].between(-6, 8)]

es_tidy = es.tidy().dropna(subset=["event_time"])
es_tidy = es_tidy[~es_tidy["term"].str.contains("<=|>=")]  # leave out the binned endpoints
cs_tidy = cs_dynamic.tidy().dropna(subset=["event_time"])
fig, ax = plt.subplots(figsize=(7, 4))
ax.errorbar(
    es_tidy["event_time"] - 0.1,
    es_tidy["estimate"],
    1.96 * es_tidy["std_error"],
    fmt="o",
    capsize=2,
    label="TWFE event study",
)
ax.errorbar(
    cs_tidy["event_time"] + 0.1,
    cs_tidy["estimate"],
    1.96 * cs_tidy["std_error"],
    fmt="s",
    capsize=2,
    label="Callaway-Sant'Anna DR, covariates",
)
ax.plot(true_dynamic["key"], true_dynamic["att"], "k--", label="truth")
ax.axhline(0, color="0.6", linewidth=0.8)
ax.set_xlabel("years since park entry")
ax.set_ylabel("effect on log output")
ax.legend(frameon=False)
plt.show()

# %% [markdown]
# The TWFE leads are negative and rise towards the reference year: tenants were already growing
# faster than other firms before entry. That trend goes on after entry, so the TWFE lags lie above
# the true path. The covariate-adjusted Callaway-Sant'Anna estimates stay close to zero before
# entry and track the true path after it.
#
# ## Take-aways
#
# - An in-vs-out comparison estimates the ATT **plus** the selection bias; with parks, which select
#   large and R&D-intensive firms, the bias dominates.
# - Firm fixed effects remove level differences, not trend differences. A placebo world (or a
#   pre-trend test) shows whether trends differ.
# - With staggered entry and effects that grow, TWFE uses earlier tenants as controls and can be
#   far from any average effect, even under parallel trends. Estimate group-time effects against
#   clean controls and aggregate them explicitly.
#
# **Exercises.** (i) Raise `entry_rate` in `simulate_parks` so that most firms become tenants: what
# happens to the weight of the forbidden comparisons? (ii) Change the toy effect to a constant 0.1:
# is TWFE still biased? (iii) Which covariate, left out, causes most of the placebo bias?
#
# ## References
#
# - Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
#   periods. *Journal of Econometrics* 225(2), 200-230.
# - de Chaisemartin, C. and D'Haultfoeuille, X. (2020). Two-way fixed effects estimators with
#   heterogeneous treatment effects. *American Economic Review* 110(9), 2964-2996.
# - Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment timing.
#   *Journal of Econometrics* 225(2), 254-277.
# - Heckman, J. J., Ichimura, H. and Todd, P. E. (1997). Matching as an econometric evaluation
#   estimator. *Review of Economic Studies* 64(4), 605-654.
# - Roth, J., Sant'Anna, P. H. C., Bilinski, A. and Poe, J. (2023). What's trending in
#   difference-in-differences? *Journal of Econometrics* 235(2), 2218-2244.
# - Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event studies with
#   heterogeneous treatment effects. *Journal of Econometrics* 225(2), 175-199.
# - Fukugawa, N. and Chang, C.-C. (2025). RIETI Discussion Paper 25-E-005 (the design the simulated
#   economy follows: staggered entry into Taiwan's science parks).
