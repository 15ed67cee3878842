"""Callaway-Sant'Anna on mpdta: reproduce R ``did``'s published numbers.

Data: ``shared/reference-data/mpdta.csv`` (Callaway and Sant'Anna 2021 county
teen employment, 500 counties x 2003-2007), SHA-256 recorded below.

Sources of the numbers (``shared/reference-data/README.md``):

- Point estimates, pre-test p-value: the R ``did`` package reference manual,
  examples of ``att_gt`` and ``aggte``::

      out <- att_gt(yname = "lemp", gname = "first.treat", idname = "countyreal",
                    tname = "year", xformla = ~1, data = mpdta,
                    est_method = "dr", control_group = "nevertreated")
      aggte(out, type = "simple" | "dynamic" | "group" | "calendar")

  printed to 4 decimals, so the tolerance is 1e-4 absolute (rounding).
- Analytic influence-function SEs of the ATT(g,t), the simple and the dynamic
  overall effect: the README (identical across independent implementations),
  printed to 4 decimals, so the tolerance is half a unit in the 4th decimal
  (5e-5 absolute, at most 0.4% relative).
- Full-precision cross-check: diff-diff 3.13.0 (Python, independent implementation)::

      CallawaySantAnna(estimation_method="dr").fit(mpdta, outcome="lemp",
          unit="countyreal", time="year", first_treat="first.treat", aggregate="all")

  ATT(g,t) SEs, the simple effect and the event-study SEs below, to 1e-8 relative.
- The other aggregations' SEs are checked against an independent delta-method
  computation from the ATT(g,t) influence functions and the cohort shares
  (numerical gradient), to 1e-8 relative.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from tests.conftest import reference_file

from parkimpact.data.panel import FirmPanel
from parkimpact.did.callaway import CallawaySantAnna
from parkimpact.did.cs_results import GroupTimeATT

pytestmark = pytest.mark.reference

SHA256 = "7d8620758d79fdc732a51e26700619f851394e4d1373cad9a3de3b52a2dbc5c7"

ATT_GT = {
    (2004, 2004): -0.0105, (2004, 2005): -0.0704, (2004, 2006): -0.1373,
    (2004, 2007): -0.1008, (2006, 2004): 0.0065, (2006, 2005): -0.0028,
    (2006, 2006): -0.0046, (2006, 2007): -0.0412, (2007, 2004): 0.0305,
    (2007, 2005): -0.0027, (2007, 2006): -0.0311, (2007, 2007): -0.0261,
}  # fmt: skip
SE_GT = [0.0233, 0.0310, 0.0364, 0.0344, 0.0233, 0.0196, 0.0178, 0.0202, 0.0150, 0.0164,
         0.0179, 0.0167]  # fmt: skip
SIMPLE = (-0.0400, 0.0120)
DYNAMIC = (-0.0772, 0.0200)
DYNAMIC_E = {-3: 0.0305, -2: -0.0006, -1: -0.0245, 0: -0.0199, 1: -0.0510, 2: -0.1373, 3: -0.1008}
GROUP = (-0.0310, {2004: -0.0797, 2006: -0.0229, 2007: -0.0261})
CALENDAR = (-0.0417, {2004: -0.0105, 2005: -0.0704, 2006: -0.0488, 2007: -0.0371})
PRETEST_P = 0.16812

# diff-diff 3.13.0 on the same data (command in the module docstring)
DIFF_DIFF_SE_GT = [
    0.02325103636816603, 0.030984766757276336, 0.036435664287686145, 0.03435922583467294,
    0.023326805141804713, 0.019558561035881585, 0.017755196659276325, 0.02022918070410684,
    0.015033560280130042, 0.01639583289553441, 0.01787751131334352, 0.016655435349252165,
]  # fmt: skip
DIFF_DIFF_SIMPLE = (-0.039951275155176276, 0.012034012770185353)
DIFF_DIFF_DYNAMIC_SE = {
    -3: 0.015033560280130042, -2: 0.013291644736549984, -1: 0.014236402210519312,
    0: 0.011826364058058172, 1: 0.016893476268677928, 2: 0.036435664287686145,
    3: 0.03435922583467294,
}  # fmt: skip

POINT_TOL = 1e-4  # published to 4 decimals
SE_TOL = 5e-5  # half a unit in the 4th decimal


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    path = reference_file("mpdta.csv")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == SHA256, f"mpdta.csv changed: {digest}"
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def panel(mpdta: pd.DataFrame) -> FirmPanel:
    return FirmPanel(
        mpdta, unit="countyreal", time="year", entry="first.treat", never_treated_value=0
    )


@pytest.fixture(scope="module")
def result(panel: FirmPanel) -> GroupTimeATT:
    return CallawaySantAnna("lemp").fit(panel)


def test_att_gt_match_r(result: GroupTimeATT) -> None:
    got = result.att.to_dict()
    assert set(got) == set(ATT_GT)
    diffs = [abs(got[key] - value) for key, value in ATT_GT.items()]
    assert max(diffs) < POINT_TOL


def test_att_gt_standard_errors_match_analytic_reference(result: GroupTimeATT) -> None:
    np.testing.assert_allclose(result.std_errors.to_numpy(), SE_GT, rtol=0, atol=SE_TOL)


def test_counts_of_cells(result: GroupTimeATT) -> None:
    tidy = result.tidy()
    assert tidy["n_treated"].tolist() == [20] * 4 + [40] * 4 + [131] * 4
    assert (tidy["n_control"] == 309).all()
    assert tidy["post"].sum() == 7


def test_full_precision_cross_check_with_diff_diff(result: GroupTimeATT) -> None:
    np.testing.assert_allclose(result.std_errors.to_numpy(), DIFF_DIFF_SE_GT, rtol=1e-8)
    simple = result.aggregate("simple")
    assert simple.estimate == pytest.approx(DIFF_DIFF_SIMPLE[0], rel=1e-10)
    assert simple.std_error == pytest.approx(DIFF_DIFF_SIMPLE[1], rel=1e-8)
    dynamic = result.aggregate("dynamic").effects.set_index("event_time")["std_error"]
    for e, se in DIFF_DIFF_DYNAMIC_SE.items():
        assert dynamic[e] == pytest.approx(se, rel=1e-8)


def test_pretest_matches_r(result: GroupTimeATT) -> None:
    assert result.pretest is not None
    assert result.pretest.df == 5
    assert abs(result.pretest.p_value - PRETEST_P) < 1e-5


def test_simple_and_dynamic_match_r(result: GroupTimeATT) -> None:
    simple = result.aggregate("simple")
    assert abs(simple.estimate - SIMPLE[0]) < POINT_TOL
    assert abs(simple.std_error - SIMPLE[1]) < SE_TOL
    dynamic = result.aggregate("dynamic")
    assert abs(dynamic.estimate - DYNAMIC[0]) < POINT_TOL
    assert abs(dynamic.std_error - DYNAMIC[1]) < SE_TOL
    effects = dynamic.effects.set_index("event_time")["estimate"].to_dict()
    assert set(effects) == set(DYNAMIC_E)
    assert max(abs(effects[e] - v) for e, v in DYNAMIC_E.items()) < POINT_TOL


@pytest.mark.parametrize(("kind", "reference"), [("group", GROUP), ("calendar", CALENDAR)])
def test_group_and_calendar_match_r(
    result: GroupTimeATT, kind: str, reference: tuple[float, dict[int, float]]
) -> None:
    agg = result.aggregate(kind)  # type: ignore[arg-type]
    assert abs(agg.estimate - reference[0]) < POINT_TOL
    effects = agg.effects.set_index(agg.key)["estimate"].to_dict()
    assert set(effects) == set(reference[1])
    assert max(abs(effects[k] - v) for k, v in reference[1].items()) < POINT_TOL


# ---------------------------------------------------------------- independent SEs
def _delta_method_se(result: GroupTimeATT, f: Callable[[np.ndarray, np.ndarray], float]) -> float:
    """SE of f(att, shares) from the joint influence function of (att, cohort shares)."""
    psi = result.influence.values
    att = result.att.to_numpy()
    cohort = result.firms["cohort"].to_numpy()
    groups = np.array([2004, 2006, 2007])
    shares = np.array([np.mean(cohort == g) for g in groups])
    xi = np.column_stack([(cohort == g) - p for g, p in zip(groups, shares, strict=True)])
    point = np.concatenate([att, shares])
    grad = np.empty(point.size)
    for j in range(point.size):
        step = np.zeros(point.size)
        step[j] = 1e-6
        grad[j] = f(*np.split(point + step, [att.size])) - f(*np.split(point - step, [att.size]))
        grad[j] /= 2e-6
    joint = np.column_stack([psi, xi]) @ grad
    return float(np.sqrt(np.sum(joint**2)) / psi.shape[0])


def _aggregators(result: GroupTimeATT) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    cells = result.cells
    g = cells["cohort"].to_numpy()
    t = cells["year"].to_numpy()
    post = cells["post"].to_numpy(dtype=bool)
    pos = {2004: 0, 2006: 1, 2007: 2}
    share_of = np.array([pos[int(c)] for c in g])

    def simple(att: np.ndarray, p: np.ndarray) -> float:
        w = p[share_of] * post
        return float(w @ att / w.sum())

    def group(att: np.ndarray, p: np.ndarray) -> float:
        theta = np.array([att[post & (g == c)].mean() for c in (2004, 2006, 2007)])
        return float(p @ theta / p.sum())

    def calendar(att: np.ndarray, p: np.ndarray) -> float:
        out = []
        for year in (2004, 2005, 2006, 2007):
            keep = post & (t == year)
            w = p[share_of[keep]]
            out.append(w @ att[keep] / w.sum())
        return float(np.mean(out))

    def dynamic(att: np.ndarray, p: np.ndarray) -> float:
        out = []
        for e in range(4):
            keep = (t - g) == e
            w = p[share_of[keep]]
            out.append(w @ att[keep] / w.sum())
        return float(np.mean(out))

    def dynamic_e1(att: np.ndarray, p: np.ndarray) -> float:
        keep = (t - g) == 1
        w = p[share_of[keep]]
        return float(w @ att[keep] / w.sum())

    return {
        "simple": simple,
        "group": group,
        "calendar": calendar,
        "dynamic": dynamic,
        "dynamic_e1": dynamic_e1,
    }


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar", "dynamic_e1"])
def test_aggregated_standard_errors_equal_delta_method(result: GroupTimeATT, kind: str) -> None:
    f = _aggregators(result)[kind]
    expected = _delta_method_se(result, f)
    if kind == "dynamic_e1":
        agg = result.aggregate("dynamic")
        got = agg.effects.set_index("event_time").loc[1, "std_error"]
    else:
        got = result.aggregate(kind).std_error  # type: ignore[arg-type]
    assert got == pytest.approx(expected, rel=1e-7)


def test_group_overall_standard_error_value(result: GroupTimeATT) -> None:
    # Independent delta-method value (test above); R did 2.x prints 0.0124 as well to 4 dp
    # within its indexing of the weights term (0.012415 vs 0.012446 here).
    assert result.aggregate("group").std_error == pytest.approx(0.012446, abs=2e-6)


# ---------------------------------------------------------------- other settings
def test_methods_agree_without_covariates(panel: FirmPanel, result: GroupTimeATT) -> None:
    for method in ("ipw", "reg", "dr_improved"):
        other = CallawaySantAnna("lemp", method=method).fit(panel)
        np.testing.assert_allclose(other.att.to_numpy(), result.att.to_numpy(), atol=1e-10)
        np.testing.assert_allclose(
            other.std_errors.to_numpy(), result.std_errors.to_numpy(), rtol=1e-8
        )


def test_lpop_covariate_is_internally_consistent(panel: FirmPanel, result: GroupTimeATT) -> None:
    dr = CallawaySantAnna("lemp", covariates=["lpop"]).fit(panel)
    ipw = CallawaySantAnna("lemp", covariates=["lpop"], method="ipw").fit(panel)
    reg = CallawaySantAnna("lemp", covariates=["lpop"], method="reg").fit(panel)
    imp = CallawaySantAnna("lemp", covariates=["lpop"], method="dr_improved").fit(panel)
    # lpop moves the estimates a little (county size matters for the employment trend) ...
    assert 0 < np.max(np.abs(dr.att.to_numpy() - result.att.to_numpy())) < 0.02
    # ... and every estimator of the same estimand stays close to the doubly robust one
    for other in (ipw, reg, imp):
        assert np.max(np.abs(other.att.to_numpy() - dr.att.to_numpy())) < 0.002
    simple = dr.aggregate("simple")
    assert simple.estimate == pytest.approx(-0.0418, abs=5e-4)
    assert 0.009 < simple.std_error < 0.015


def test_not_yet_treated_runs_and_is_consistent(panel: FirmPanel, result: GroupTimeATT) -> None:
    nyt = CallawaySantAnna("lemp", control_group="not_yet_treated").fit(panel)
    tidy = nyt.tidy().set_index(["cohort", "year"])
    # cells whose comparison group has no later cohort left equal the never-treated ones
    for cell in [(2004, 2007), (2006, 2007), (2007, 2006), (2007, 2007)]:
        assert tidy.loc[cell, "estimate"] == pytest.approx(result.att[cell], abs=1e-12)
        assert tidy.loc[cell, "n_control"] == 309
    assert tidy.loc[(2004, 2004), "n_control"] == 309 + 40 + 131
    assert tidy.loc[(2004, 2006), "n_control"] == 309 + 131
    agg = nyt.aggregate("simple")
    assert abs(agg.estimate - SIMPLE[0]) < 0.01


def test_universal_base_period(panel: FirmPanel, result: GroupTimeATT) -> None:
    uni = CallawaySantAnna("lemp", base_period="universal").fit(panel)
    post = uni.cells["post"].to_numpy()
    np.testing.assert_allclose(
        uni.att.to_numpy()[post],
        result.att.to_numpy()[result.cells["post"].to_numpy()],
        atol=1e-12,
    )
    ref = uni.cells["reference"].to_numpy()
    assert ref.sum() == 3
    assert (uni.att.to_numpy()[ref] == 0).all() and np.isnan(uni.std_errors.to_numpy()[ref]).all()
    # the same pre-entry information, differenced against another year
    assert uni.pretest is not None and uni.pretest.p_value == pytest.approx(PRETEST_P, abs=1e-5)


@pytest.fixture(scope="module")
def bootstrapped(panel: FirmPanel) -> GroupTimeATT:
    return CallawaySantAnna("lemp", inference="bootstrap", n_bootstrap=999, seed=20210).fit(panel)


def test_bootstrap_close_to_analytic(bootstrapped: GroupTimeATT, result: GroupTimeATT) -> None:
    ratio = bootstrapped.std_errors.to_numpy() / result.std_errors.to_numpy()
    assert np.all(np.abs(ratio - 1) < 0.15)
    assert np.mean(np.abs(ratio - 1)) < 0.10
    simple = bootstrapped.aggregate("simple")
    assert simple.std_error == pytest.approx(SIMPLE[1], rel=0.10)
    dynamic = bootstrapped.aggregate("dynamic")
    assert dynamic.std_error == pytest.approx(DYNAMIC[1], rel=0.10)
    band = dynamic.effects
    assert ((band["uniform_high"] - band["uniform_low"]) > 0).all()
    assert bootstrapped.bootstrap is not None and bootstrapped.bootstrap.critical_value > 1.96


def test_bootstrap_is_bit_identical_for_a_seed(
    panel: FirmPanel, bootstrapped: GroupTimeATT
) -> None:
    again = CallawaySantAnna("lemp", inference="bootstrap", n_bootstrap=999, seed=20210).fit(panel)
    assert np.array_equal(again.std_errors.to_numpy(), bootstrapped.std_errors.to_numpy())
    assert np.array_equal(again.bootstrap.draws, bootstrapped.bootstrap.draws)  # type: ignore[union-attr]
    a, b = again.aggregate("dynamic"), bootstrapped.aggregate("dynamic")
    pd.testing.assert_frame_equal(a.tidy(), b.tidy())
    other = CallawaySantAnna("lemp", inference="bootstrap", seed=7).fit(panel)
    assert not np.array_equal(other.std_errors.to_numpy(), bootstrapped.std_errors.to_numpy())


def test_fingerprint_and_seed_recorded(panel: FirmPanel, bootstrapped: GroupTimeATT) -> None:
    assert bootstrapped.spec["panel_fingerprint"] == panel.fingerprint()
    assert bootstrapped.spec["seed"] == 20210
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = CallawaySantAnna("lemp", inference="bootstrap", n_bootstrap=50).fit(panel)
    assert fresh.spec["seed"] is not None
