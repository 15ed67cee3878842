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
# # 2. Production functions and total factor productivity
#
# "Do parks make firms more productive?" needs a measure of productivity. Total factor productivity
# (TFP) is the part of output that inputs do not explain, so it is only as good as the estimated
# production function. This notebook covers
#
# 1. the **transmission bias** of least squares (Marschak and Andrews 1944);
# 2. the **proxy-variable** estimators of Olley and Pakes (1996) and Levinsohn and Petrin (2003);
# 3. the **functional dependence** problem and the estimator of Ackerberg, Caves and Frazer (2015),
#    and the one-step version of Wooldridge (2009);
# 4. why a **gross-output** production function with a flexible input needs more than a proxy
#    (Gandhi, Navarro and Rivers 2020), on the simulated park economy.
#
# Run time: about 20 seconds on two cores.

# %%
import itertools
import warnings

import numpy as np
import pandas as pd

from parkimpact import FirmPanel
from parkimpact.datasets import simulate_acf, simulate_parks
from parkimpact.report import table
from parkimpact.tfp import ACF, GNR, OLS, FixedEffects, LevinsohnPetrin, OlleyPakes, Wooldridge

pd.set_option("display.precision", 3)
pd.set_option("display.width", 110)
SEED = 11
warnings.simplefilter("once")

# %% [markdown]
# ## The model and the transmission bias
#
# Log value added of firm $i$ in year $t$ is Cobb-Douglas in labour $l$ and capital $k$,
#
# $$ y_{it} = \beta_0 + \beta_l l_{it} + \beta_k k_{it} + \omega_{it} + \varepsilon_{it}, $$
#
# where $\omega_{it}$ is productivity, known to the firm when it chooses its inputs but not to the
# econometrician, and $\varepsilon_{it}$ is an unanticipated shock (or measurement error). Capital
# is a **state** variable, chosen a year ahead ($k_{it}$ depends on $\omega_{i,t-1}$ and earlier),
# labour is **free**, chosen at $t$ knowing $\omega_{it}$. TFP is $\omega_{it}$ (plus $\beta_0$).
#
# Because more productive firms hire more, $\mathrm{Cov}(l_{it}, \omega_{it}) > 0$ and least squares
# overstates $\beta_l$: with $\tilde l$ the part of $l$ orthogonal to $k$,
#
# $$ \operatorname{plim}\hat\beta_l^{OLS} = \beta_l
#    + \frac{\mathrm{Cov}(\tilde l_{it}, \omega_{it})}{\mathrm{Var}(\tilde l_{it})} > \beta_l . $$
#
# Firm fixed effects remove the bias only if $\omega_{it} = \omega_i$ is constant over time; with a
# persistent but time-varying $\omega$ they throw away most of the identifying variation and
# typically give implausibly low capital coefficients (Griliches and Mairesse 1998).
#
# ## The ACF Monte Carlo designs
#
# `simulate_acf` reproduces the three data generating processes of Ackerberg, Caves and Frazer
# (2015): $\beta_l = 0.6$, $\beta_k = 0.4$, $\omega$ an AR(1) with $\rho = 0.7$, materials Leontief
# in value added, 1,000 firms over 10 years.
#
# | design | firm-specific wages | labour chosen at | optimisation error in $l$ |
# | --- | --- | --- | --- |
# | DGP1 | yes | $t - 0.5$ | no |
# | DGP2 | no | $t$ | yes ($\sigma_u = 0.37$) |
# | DGP3 | yes | $t - 0.5$ | yes |

# %%
designs = {dgp: simulate_acf(dgp, n_firms=1000, n_years=10, seed=SEED) for dgp in (1, 2, 3)}
sim = designs[3]
print({k: sim.truth[k] for k in ("beta_l", "beta_k", "rho", "sigma_omega")})
sim.data.head()

# %% [markdown]
# The simulator also returns the true productivity `omega`, so we can look at the source of the
# bias directly: labour is strongly correlated with productivity.

# %%
sim.data[["y", "l", "k", "m", "i", "omega"]].corr().loc[["l", "k", "m", "i"], ["omega"]]

# %% [markdown]
# ## Proxy variables: Olley-Pakes and Levinsohn-Petrin
#
# Olley and Pakes (1996) observe that investment $i_{it} = f_t(k_{it}, \omega_{it})$ is strictly
# increasing in $\omega$ (the **scalar unobservable** assumption), so it can be inverted,
# $\omega_{it} = h_t(k_{it}, i_{it})$. Levinsohn and Petrin (2003) use materials instead, which are
# positive for every firm-year. Output becomes
#
# $$ y_{it} = \beta_l l_{it}
#    + \underbrace{\beta_0 + \beta_k k_{it} + h_t(k_{it}, m_{it})}_{\phi_t(k_{it}, m_{it})}
#    + \varepsilon_{it} . $$
#
# **First stage:** least squares of $y$ on $l$ and a polynomial $\phi$ in $(k, m)$ gives
# $\hat\beta_l$ and $\hat\phi_{it}$. **Second stage:** with a Markov law of motion
# $\omega_{it} = g(\omega_{i,t-1}) + \xi_{it}$ and
# $\omega_{it}(\beta_k) = \hat\phi_{it} - \beta_k k_{it}$, the innovation $\xi_{it}(\beta_k)$ is
# the residual of a regression of $\omega_{it}(\beta_k)$ on a polynomial in
# $\omega_{i,t-1}(\beta_k)$, and $\beta_k$ solves $E[\xi_{it}(\beta_k)\,k_{it}] = 0$ (capital was
# chosen before $\xi_{it}$ was known).
#
# ## Functional dependence and the ACF estimator
#
# Ackerberg, Caves and Frazer (2015) show that the first stage cannot identify $\beta_l$ when labour
# is chosen the way the proxy is: if $l_{it} = f_t(k_{it}, \omega_{it})$ too, then
# $l_{it} = f_t(k_{it}, h_t(k_{it}, m_{it}))$ is a function of $(k, m)$ and is perfectly collinear
# with $\phi_t(k, m)$. In DGP1 the problem is starker still: materials are Leontief and chosen with
# labour, $m_{it} = \beta_0 + \beta_l l_{it} + \beta_k k_{it} + \omega_{it}$, so
# $y_{it} = m_{it} + \varepsilon_{it}$ and $l$ has nothing left to explain.
#
# ACF let the first stage identify nothing but $\phi_{it} = E[y_{it} \mid l_{it}, k_{it}, m_{it}]$
# (labour enters the inversion, $\omega_{it} = h_t(m_{it}, k_{it}, l_{it})$) and move both
# coefficients to the second stage,
#
# $$ \omega_{it}(\beta) = \hat\phi_{it} - \beta_0 - \beta_l l_{it} - \beta_k k_{it}, \qquad
#    E\big[\xi_{it}(\beta) \otimes (k_{it},\, l_{i,t-1})'\big] = 0, $$
#
# with lagged labour as the instrument for current labour. Wooldridge (2009) writes both stages as
# one system of moment conditions (estimated by IV or GMM, with analytic standard errors); it keeps
# the inversion $\omega = h(k, m)$ of Levinsohn and Petrin.
#
# ## The estimators on the three designs

# %%
SPEC = {"output": "y", "free": "l", "state": "k"}
ESTIMATORS = {
    "OLS": OLS(**SPEC),
    "Fixed effects": FixedEffects(**SPEC),
    "Olley-Pakes": OlleyPakes(**SPEC, proxy="i"),
    "Levinsohn-Petrin": LevinsohnPetrin(**SPEC, proxy="m"),
    "ACF": ACF(**SPEC, proxy="m"),
    "Wooldridge IV": Wooldridge(**SPEC, proxy="m"),
}
panels = {dgp: FirmPanel(s.data, unit="firm_id", time="year") for dgp, s in designs.items()}
fits = {(dgp, name): est.fit(panels[dgp]) for dgp in panels for name, est in ESTIMATORS.items()}
estimates = pd.DataFrame({key: fit.params[["l", "k"]] for key, fit in fits.items()}).T.rename_axis(
    ["design", "estimator"]
)
estimates.unstack("design").round(3)

# %% [markdown]
# The truth is $\beta_l = 0.6$, $\beta_k = 0.4$ in every design (sampling standard deviations at
# this size are about 0.01 for $\beta_l$ and 0.02 for $\beta_k$).
#
# - **OLS** overstates $\beta_l$ (transmission bias) and understates $\beta_k$.
# - **Fixed effects** do not help: productivity is persistent, not constant.
# - **Levinsohn-Petrin** works in DGP2 only. In DGP1 its labour coefficient collapses to zero, as
#   the algebra above predicts; in DGP3 the inversion $\omega = h(k, m)$ is wrong because labour
#   enters it. **Wooldridge**'s one-step estimator shares that inversion and fails with it.
# - **Olley-Pakes** fails in all three designs, for a different reason: ACF's firms have
#   heterogeneous adjustment costs of investment, so investment depends on a second unobservable
#   and cannot be inverted into $\omega$.
# - **ACF** recovers both coefficients everywhere.
#
# The simulator's $\omega$ lets us check the inversions directly: the $R^2$ of a cubic polynomial
# in the proxy and capital, as a description of true productivity.


# %%
def r_squared(target, *columns, degree=3):
    """R-squared of least squares of target on a full polynomial of the given degree."""
    terms = [np.ones_like(target)]
    for d in range(1, degree + 1):
        terms += [np.prod(c, axis=0) for c in itertools.combinations_with_replacement(columns, d)]
    x = np.column_stack(terms)
    resid = target - x @ np.linalg.lstsq(x, target, rcond=None)[0]
    return 1.0 - resid.var() / target.var()


inversions = {}
for dgp, s in designs.items():
    omega, k = s.data["omega"].to_numpy(), s.data["k"].to_numpy()
    inversions[f"DGP{dgp}"] = {
        "omega on (k, investment)": r_squared(omega, k, s.data["i"].to_numpy()),
        "omega on (k, materials)": r_squared(omega, k, s.data["m"].to_numpy()),
    }
pd.DataFrame(inversions)

# %% [markdown]
# Investment explains under two thirds of the variation of productivity in every design;
# materials and capital pin it down exactly only in DGP2, where labour is not part of the inversion.
#
# ## The ACF criterion is not convex
#
# The second-stage GMM criterion of ACF can have several local minima. `ACF` evaluates it on a
# grid over `search_box`, polishes the best points and reports every distinct minimum in
# `result.optimizer`. With two moments and two coefficients the model is just identified: every
# root of the moment conditions gives a criterion of zero, and the estimator picks the root found
# from most starting points. A returns-to-scale check (here, $\beta_l + \beta_k \approx 1$) and the
# plausibility of the capital coefficient help choose between roots; over-identifying instruments
# (e.g. $l_{i,t-2}$) would discriminate formally.

# %%
acf3 = fits[(3, "ACF")]
acf3.optimizer.to_frame()

# %% [markdown]
# ## Standard errors
#
# Proxy estimators are two-step estimators; their standard errors must account for the first stage.
# `ACF` (like `OlleyPakes` and `LevinsohnPetrin`) re-runs both stages on firm-cluster bootstrap
# samples when `n_boot > 0`; `Wooldridge` has analytic firm-clustered standard errors. Forty-nine
# draws are enough for a demonstration, not for a paper.

# %%
acf_boot = ACF(**SPEC, proxy="m", n_boot=49, seed=SEED).fit(panels[3])
table(
    [fits[(3, "OLS")], fits[(3, "Fixed effects")], fits[(3, "Levinsohn-Petrin")], acf_boot],
    model_names=["OLS", "FE", "LP", "ACF"],
    title="Production function, ACF design 3 (truth: l 0.6, k 0.4)",
)

# %% [markdown]
# ## From coefficients to TFP
#
# `result.tfp` is $\hat\omega_{it} + \hat\beta_0 = \hat\phi_{it} - \hat\beta_l l_{it} - \hat\beta_k
# k_{it}$, aligned with the panel's rows, and `result.augment(panel)` adds it as a column for the
# impact estimators. Biased coefficients give a TFP that is contaminated by input use. Here
# the OLS residual has a smaller variance than true productivity because part of $\omega$ has been
# attributed to labour.

# %%
truth_omega = sim.data["omega"].to_numpy()
pd.DataFrame(
    {
        name: {
            "corr. with true omega": np.corrcoef(fits[(3, name)].tfp, truth_omega)[0, 1],
            "SD of TFP": fits[(3, name)].tfp.std(),
        }
        for name in ["OLS", "Levinsohn-Petrin", "ACF"]
    }
).assign(truth={"corr. with true omega": 1.0, "SD of TFP": truth_omega.std()})

# %% [markdown]
# ## Gross output and flexible inputs: the park economy
#
# The simulated park economy has a **gross-output** technology,
# $q_{it} = 1 + 0.25\, l_{it} + 0.10\, k_{it} + 0.60\, m_{it} + \omega_{it} + \varepsilon_{it}$,
# with materials chosen flexibly each year. Gandhi, Navarro and Rivers (2020) show that proxy
# estimators cannot identify the elasticity of a flexible input: after conditioning on the
# variables of the inversion, nothing moves materials independently of productivity, and the
# lagged values used as instruments carry no information about it. The ACF criterion then has a
# flat direction and the materials coefficient is arbitrary.
#
# The first-order condition for materials provides the missing information. Under Cobb-Douglas,
# the share of materials in revenue satisfies $P^m_t M_{it} / (P_t Q_{it}) = \beta_m\,
# e^{-\varepsilon_{it}}\,/\,\mathcal{E}$ with $\mathcal{E} = E[e^{\varepsilon}]$, so the share
# identifies $\beta_m$. `GNR` implements the general, nonparametric version: a share regression
# followed by an ACF-type second stage for the other inputs. It needs the *nominal* share, so we
# bring back the price indices that deflated the panel.

# %%
parks = simulate_parks(n_firms=1000, seed=SEED)
prices = parks.deflators.rename(columns={"industry_code": "industry"})
frame = parks.panel.merge(prices, on=["year", "industry"], how="left", validate="many_to_one")
nominal_materials = frame["materials"] * frame["input_price"]
frame["share"] = nominal_materials / (frame["output"] * frame["output_price"])
park_panel = FirmPanel(
    frame,
    unit="firm_id",
    time="year",
    entry="entry_year",
    exit="exit_year",
    industry="industry",
    exits="keep_treated",
)
print(f"median nominal materials share: {frame['share'].median():.3f} (true elasticity 0.60)")

# %%
GROSS = {
    "output": "log_output",
    "free": "log_employment",
    "state": "log_capital",
    "proxy": "log_materials",
}
gross_fits = {
    "OLS": OLS(output="log_output", free=["log_employment", "log_materials"], state="log_capital"),
    "ACF, gross output": ACF(**GROSS, kind="gross_output"),
    "GNR": GNR(**GROSS, share="share"),
}
gross = pd.DataFrame({name: est.fit(park_panel).elasticities for name, est in gross_fits.items()})
gross["truth"] = pd.Series({"log_employment": 0.25, "log_capital": 0.10, "log_materials": 0.60})
gross.round(3)

# %% [markdown]
# The materials elasticity from the share is right on target, while the gross-output ACF estimate
# of it is off and drags the other two along. The labour and capital elasticities remain hard to
# pin down in this economy even with `GNR`: productivity follows industry-specific trends that a
# pooled law of motion $g(\omega_{i,t-1})$ does not capture. Notebook 5 estimates the production
# function by industry with a trend and park entry in the law of motion (De Loecker 2013) and
# checks the resulting TFP effect against the truth.
#
# ## Take-aways
#
# - Least squares confounds input choices with productivity; fixed effects do not fix it when
#   productivity evolves.
# - A proxy estimator is only as good as its inversion: check which variables the proxy depends
#   on (adjustment costs for investment, labour for Leontief materials).
# - ACF's second-stage identification survives functional dependence; inspect its local minima.
# - With gross output, identify the flexible input's elasticity from its revenue share (GNR).
#
# **Exercises.** (i) Add measurement error to materials,
# `simulate_acf(2, measurement_error=0.1)`: which estimators degrade? (ii) Fit `ACF` with
# `functional_form="translog"` on DGP2 and compare the average elasticities with the Cobb-Douglas
# estimates. (iii) Refit the gross-output models by industry (`by="industry"`).
#
# ## References
#
# - Ackerberg, D. A., Caves, K. and Frazer, G. (2015). Identification properties of recent
#   production function estimators. *Econometrica* 83(6), 2411-2451.
# - De Loecker, J. (2013). Detecting learning by exporting. *American Economic Journal:
#   Microeconomics* 5(3), 1-21.
# - Gandhi, A., Navarro, S. and Rivers, D. A. (2020). On the identification of gross output
#   production functions. *Journal of Political Economy* 128(8), 2973-3016.
# - Griliches, Z. and Mairesse, J. (1998). Production functions: the search for identification. In
#   S. Strom (ed.), *Econometrics and Economic Theory in the 20th Century*, Cambridge University
#   Press, 169-203.
# - Levinsohn, J. and Petrin, A. (2003). Estimating production functions using inputs to control
#   for unobservables. *Review of Economic Studies* 70(2), 317-341.
# - Marschak, J. and Andrews, W. H. (1944). Random simultaneous equations and the theory of
#   production. *Econometrica* 12(3/4), 143-205.
# - Olley, G. S. and Pakes, A. (1996). The dynamics of productivity in the telecommunications
#   equipment industry. *Econometrica* 64(6), 1263-1297.
# - Wooldridge, J. M. (2009). On estimating firm-level production functions using proxy variables to
#   control for unobservables. *Economics Letters* 104(3), 112-114.
