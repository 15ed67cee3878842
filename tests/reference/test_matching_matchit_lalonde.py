"""MatchIt vignette ("MatchIt: Getting Started", MatchIt 4.x): 1:1 nearest-neighbour
matching without replacement on MatchIt's ``lalonde`` data.

Command (R, MatchIt 4.7):
    m.out1 <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75,
                      data = lalonde, method = "nearest", distance = "glm")
    summary(m.out1, un = FALSE)   # "Summary of Balance for Matched Data"

Data: ``parkimpact.datasets.load("lalonde")``, MatchIt's ``lalonde`` shipped with the
package (185 NSW treated men, 429 CPS-3 comparison men; verified byte for byte against
the MD5 of MatchIt 4.7.1's ``data/lalonde.tab``, see ``tests/datasets/test_public.py``).
MatchIt's ``race`` factor (black, hispan, white) enters the logit as two indicators;
``black`` and ``hispan`` (white omitted) span the same model, so the fitted scores are
the same.

Values: the "Means Control" and "Std. Pair Dist." columns, printed to 4 decimals. The
means pin the set of matched controls; the within-pair distances pin who is paired with
whom (up to swapping controls with identical covariates). Std. Pair Dist. is MatchIt's
mean absolute within-pair difference divided by the treated-group SD (``sd`` for
continuous covariates, ``sqrt(p (1 - p))`` for binary ones). Tolerance: half a unit in
the last printed digit (5e-5), plus 1e-9 for the logit fit (statsmodels vs R ``glm``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from parkimpact.datasets import load
from parkimpact.errors import DroppedRowsWarning, OverlapWarning
from parkimpact.matching import NearestNeighborMatch

pytestmark = pytest.mark.reference

COVARIATES = ["age", "educ", "black", "hispan", "married", "nodegree", "re74", "re75"]
TOLERANCE = 5e-5 + 1e-9

# summary(m.out1, un = FALSE): Means Treated, Means Control, Std. Pair Dist.
MATCHED = {
    "distance": (0.5774, 0.3629, 0.9740),
    "age": (25.8162, 25.3027, 1.3938),
    "educ": (10.3459, 10.6054, 1.2474),
    "black": (0.8432, 0.4703, 1.0259),
    "hispan": (0.0595, 0.2162, 1.0743),
    "white": (0.0973, 0.3135, 0.8390),
    "married": (0.1892, 0.2108, 0.8281),
    "nodegree": (0.7081, 0.6378, 1.0106),
    "re74": (2095.5737, 2342.1076, 0.7965),
    "re75": (1532.0553, 1614.7451, 0.7381),
}
# summary(m.out0): Means Treated / Means Control of the distance before matching.
DISTANCE_ALL = (0.5774, 0.1822)


@pytest.fixture(scope="module")
def fitted() -> tuple[pd.DataFrame, object]:
    data = load("lalonde").data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OverlapWarning)  # one score above 0.99
        result = NearestNeighborMatch("treat", covariates=COVARIATES).fit(data)
    data = data.assign(white=1 - data["black"] - data["hispan"], distance=result.scores)
    return data, result


def _treated_sd(x: pd.Series, treated: pd.Series) -> float:
    values = x[treated]
    if set(x.unique()) <= {0, 1}:
        p = values.mean()
        return float(np.sqrt(p * (1 - p)))
    return float(values.std(ddof=1))


def test_sample_sizes(fitted):
    data, result = fitted
    assert (result.n_treated, result.n_control) == (185, 185)
    assert len(result.matches) == 185 and result.matches["control"].is_unique


def test_distance_before_matching(fitted):
    data, _ = fitted
    means = data.groupby("treat")["distance"].mean()
    assert means.loc[1] == pytest.approx(DISTANCE_ALL[0], abs=TOLERANCE)
    assert means.loc[0] == pytest.approx(DISTANCE_ALL[1], abs=TOLERANCE)


@pytest.mark.parametrize("column", list(MATCHED))
def test_matched_means_and_pair_distances(fitted, column):
    data, result = fitted
    treated_mean, control_mean, pair_distance = MATCHED[column]
    pairs = result.matches
    x = data[column]
    assert x.loc[pairs["focal"]].mean() == pytest.approx(treated_mean, abs=TOLERANCE)
    assert x.loc[pairs["control"]].mean() == pytest.approx(control_mean, abs=TOLERANCE)
    gaps = np.abs(x.loc[pairs["focal"]].to_numpy() - x.loc[pairs["control"]].to_numpy())
    standardised = gaps.mean() / _treated_sd(x, data["treat"] == 1)
    assert standardised == pytest.approx(pair_distance, abs=TOLERANCE)


def test_matched_data_matches_the_pairs(fitted):
    """match_data(): the matched controls and their unit weights (MatchIt's ``weights``)."""
    data, result = fitted
    matched = result.matched_data()
    controls = matched[matched["treat"] == 0]
    assert len(controls) == 185 and (controls["weights"] == 1.0).all()
    assert controls["age"].mean() == pytest.approx(MATCHED["age"][1], abs=TOLERANCE)


# ----------------------------------------------------------------------------------------
# MatchIt's help page for method = "nearest" (?method_nearest, MatchIt 4.7), example m.out2:
#     m.out2 <- matchit(treat ~ age + educ + race + nodegree + married + re74 + re75,
#                       data = lalonde, method = "nearest", replace = TRUE,
#                       mahvars = ~ age + educ + re74 + re75, ratio = 3, caliper = .02)
#     summary(m.out2, un = FALSE)
# 3:1 Mahalanobis matching with replacement inside a caliper of 0.02 SD of the logit score
# (MatchIt prints "caliper: <distance> (0.006)"). Means of the matched treated, and means of
# the controls weighted by MatchIt's weights.
MOUT2_TREATED = {
    "distance": 0.5660, "age": 25.5000, "educ": 10.3086, "black": 0.8210, "hispan": 0.0679,
    "white": 0.1111, "nodegree": 0.7037, "married": 0.1914, "re74": 1831.9348,
    "re75": 1400.4354,
}  # fmt: skip
MOUT2_CONTROL = {
    "distance": 0.5660, "black": 0.8169, "hispan": 0.0576, "white": 0.1255,
    "nodegree": 0.6852, "married": 0.1132, "re74": 2119.9268, "re75": 1386.7669,
}  # fmt: skip
# Not reproduced: age 24.0010 and educ 10.3930 (here 23.9599 and 10.3971) and 138 matched
# controls (here 137). Some treated units have controls at exactly equal Mahalanobis
# distance on both sides (e.g. ages 16 and 18 around 17, other covariates equal), which
# differ only in age or educ. Which of them is kept depends on the last bits of the
# computed distances (MatchIt's Cholesky-transformed covariates, parkimpact's
# eigendecomposition), not on a matching rule; all other printed means agree.
MOUT2_TIED = {"age": 24.0010, "educ": 10.3930}


@pytest.fixture(scope="module")
def mout2() -> tuple[pd.DataFrame, object]:
    data = load("lalonde").data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = NearestNeighborMatch(
            "treat",
            covariates=COVARIATES,
            mahalanobis=["age", "educ", "re74", "re75"],
            replace=True,
            k=3,
            caliper=0.02,
        ).fit(data)
    dropped = [w for w in caught if issubclass(w.category, DroppedRowsWarning)]
    assert len(dropped) == 1 and "23 row(s)" in str(dropped[0].message)  # "Unmatched 23"
    data = data.assign(white=1 - data["black"] - data["hispan"], distance=result.scores)
    return data, result


def _weighted_means(data: pd.DataFrame, result, columns) -> tuple[pd.Series, pd.Series]:
    w = result.weights
    treated = data["treat"] == 1
    on_t, on_c = treated & (w > 0), ~treated & (w > 0)
    t_means = data.loc[on_t, list(columns)].mean()
    c_means = data.loc[on_c, list(columns)].mul(w[on_c], axis=0).sum() / w[on_c].sum()
    return t_means, c_means


def test_mout2_caliper_and_matched_treated(mout2):
    data, result = mout2
    assert round(result.caliper_width, 3) == 0.006
    assert result.n_treated == 162
    t_means, c_means = _weighted_means(data, result, MOUT2_TREATED)
    for column, value in MOUT2_TREATED.items():
        assert t_means[column] == pytest.approx(value, abs=TOLERANCE), column
    for column, value in MOUT2_CONTROL.items():
        assert c_means[column] == pytest.approx(value, abs=TOLERANCE), column


@pytest.mark.xfail(
    strict=True, reason="exact Mahalanobis ties resolved by MatchIt's floating-point rounding"
)
def test_mout2_tied_controls(mout2):
    data, result = mout2
    _, c_means = _weighted_means(data, result, MOUT2_TIED)
    assert result.n_control == 138
    for column, value in MOUT2_TIED.items():
        assert c_means[column] == pytest.approx(value, abs=TOLERANCE), column
