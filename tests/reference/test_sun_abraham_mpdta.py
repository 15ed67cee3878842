"""Sun-Abraham event study on mpdta (Callaway and Sant'Anna 2021 county teen employment).

References
----------
1. Hand computation (equivalence, tolerance 1e-10, closed form): without covariates, on this
   balanced panel with never-treated controls, the interaction-weighted effect at event time e
   equals the Callaway-Sant'Anna dynamic aggregation with never-treated controls and a
   universal base period: the cohort-share-weighted average of the 2x2 DiDs
   [ybar(g, g+e) - ybar(g, g-1)] - [ybar(never, g+e) - ybar(never, g-1)] over the cohorts g
   observed at g + e, shares proportional to cohort sizes.
2. Published numbers (R package ``did`` reference manual, ``aggte(type = "dynamic")``, doubly
   robust, never-treated controls, no covariates; recorded in shared/reference-data/README.md):
   post-entry event times 0..3 are -0.0199, -0.0510, -0.1373, -0.1008 (4 dp). Post-entry
   ATT(g, t) use the base g - 1 under both base-period conventions, so they coincide here;
   the published pre-entry numbers use the varying base period and are not comparable.
3. pyfixest 0.60.0 (numpy 2.4, pandas 3.1), saturated event study (cohort x relative-period
   interactions, ref = -1, CRV1 by county)::

       m["first_treat"] = m["first.treat"]
       fit = pyfixest.event_study(m, yname="lemp", idname="countyreal", tname="year",
                                  gname="first_treat", estimator="saturated")
       fit.tidy()        # CATT(g, e) and their CRV1 standard errors
       fit.aggregate()   # cohort-share aggregation with the shares treated as fixed

   Tolerances: estimates 1e-9 relative, standard errors 1e-6 relative (same small-sample
   factor G/(G-1)(n-1)/(n-K), K counting the non-nested year effects).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from tests.conftest import reference_file

from parkimpact import FirmPanel
from parkimpact.did.sun_abraham import SunAbraham, SunAbrahamResult

pytestmark = pytest.mark.reference

SHA256 = "7d8620758d79fdc732a51e26700619f851394e4d1373cad9a3de3b52a2dbc5c7"

# (cohort, event time): (estimate, CRV1 standard error) from pyfixest, see the module docstring
PYFIXEST_CATT = {
    (2007, -4): (0.003306356692512371, 0.02455509553186353),
    (2006, -3): (-0.003769293673713927, 0.03147433669762644),
    (2007, -3): (0.03381301227580508, 0.02121837087758593),
    (2006, -2): (0.0027508187505191216, 0.019641126706453006),
    (2007, -2): (0.03108711938968886, 0.017952980500827644),
    (2004, 0): (-0.010503246220961231, 0.023349189673294083),
    (2006, 0): (-0.004594606952862795, 0.01783014950041893),
    (2007, 0): (-0.026054410719196706, 0.016725745592717875),
    (2004, 1): (-0.07042315810314556, 0.031115567690950283),
    (2006, 1): (-0.0412244715462172, 0.020314577368354306),
    (2004, 2): (-0.1372587388894019, 0.03658947596376539),
    (2004, 3): (-0.10081136308540292, 0.03450427191020727),
}
PYFIXEST_AGGREGATE = {  # event time: (estimate, standard error with fixed shares)
    -4: (0.003306356692512371, 0.02455509553186353),
    -3: (0.025021829597555018, 0.018154344410048432),
    -2: (0.024458744971169625, 0.014266792154618159),
    0: (-0.019931816789259187, 0.01185753896345324),
    1: (-0.05095736706519332, 0.016870678384609938),
    2: (-0.1372587388894019, 0.03658947596376539),
    3: (-0.10081136308540292, 0.03450427191020727),
}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    path = reference_file("mpdta.csv")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SHA256
    return pd.read_csv(path)


@pytest.fixture(scope="module")
def panel(mpdta: pd.DataFrame) -> FirmPanel:
    return FirmPanel(
        mpdta, unit="countyreal", time="year", entry="first.treat", never_treated_value=0
    )


@pytest.fixture(scope="module")
def result(panel: FirmPanel) -> SunAbrahamResult:
    return SunAbraham("lemp").fit(panel)


def _dynamic_universal_base(data: pd.DataFrame) -> pd.Series:
    """Callaway-Sant'Anna dynamic aggregation, never-treated controls, universal base period."""
    means = data.groupby(["first.treat", "year"])["lemp"].mean()
    sizes = data.drop_duplicates("countyreal").groupby("first.treat").size()
    years = sorted(data["year"].unique())
    effects: dict[int, float] = {}
    for e in range(-4, 4):
        cohorts = [g for g in (2004, 2006, 2007) if g + e in years and e != -1]
        if not cohorts:
            continue
        total = sum(sizes[g] for g in cohorts)
        effects[e] = sum(
            sizes[g]
            / total
            * ((means[g, g + e] - means[g, g - 1]) - (means[0, g + e] - means[0, g - 1]))
            for g in cohorts
        )
    return pd.Series(effects)


def test_equals_callaway_santanna_universal_base(
    mpdta: pd.DataFrame, result: SunAbrahamResult
) -> None:
    expected = _dynamic_universal_base(mpdta)
    assert result.att.index.tolist() == expected.index.tolist()
    np.testing.assert_allclose(result.att.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-10)


def test_post_entry_effects_match_published(result: SunAbrahamResult) -> None:
    published = pd.Series([-0.0199, -0.0510, -0.1373, -0.1008], index=[0, 1, 2, 3])
    np.testing.assert_allclose(result.att.loc[published.index], published, atol=5e-5)


def test_catt_matches_pyfixest(result: SunAbrahamResult) -> None:
    catt = result.catt.set_index(["cohort", "event_time"])
    assert set(catt.index) == set(PYFIXEST_CATT)
    for key, (estimate, std_error) in PYFIXEST_CATT.items():
        assert catt.loc[key, "estimate"] == pytest.approx(estimate, rel=1e-9)
        assert catt.loc[key, "std_error"] == pytest.approx(std_error, rel=1e-6)


def test_fixed_share_aggregation_matches_pyfixest(panel: FirmPanel) -> None:
    result = SunAbraham("lemp", weights_variance="fixed").fit(panel)
    for e, (estimate, std_error) in PYFIXEST_AGGREGATE.items():
        assert result.att[e] == pytest.approx(estimate, rel=1e-9)
        assert result.std_errors[e] == pytest.approx(std_error, rel=1e-6)


def test_estimated_shares_add_variance(result: SunAbrahamResult, panel: FirmPanel) -> None:
    fixed = SunAbraham("lemp", weights_variance="fixed").fit(panel)
    ratio = result.std_errors / fixed.std_errors
    assert (ratio >= 1.0 - 1e-12).all()
    assert ratio.max() < 1.05  # cohort shares of 500 counties are precisely estimated
