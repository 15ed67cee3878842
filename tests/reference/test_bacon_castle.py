"""Goodman-Bacon decomposition of the castle-doctrine TWFE estimate (Cheng and Hoekstra 2013).

Source of the reference numbers
-------------------------------
R package bacondecomp (Flack and Jee), vignette "bacon", CRAN version 0.1.1 (printed at
https://cran.r-project.org/web/packages/bacondecomp/vignettes/bacon.html)::

    df_bacon <- bacon(l_homicide ~ post, data = bacondecomp::castle,
                      id_var = "state", time_var = "year")
    #>                       type  weight  avg_est
    #> 1 Earlier vs Later Treated 0.05976 -0.00554
    #> 2 Later vs Earlier Treated 0.03190  0.07032
    #> 3     Treated vs Untreated 0.90834  0.08796
    #> "Two-way FE estimate = 0.0818"

and the package's notebook (github.com/evanjflack/bacondecomp, index.ipynb) printing
``lm(l_homicide ~ post + factor(state) + factor(year))`` as 0.0818116169306475 and the type
weights as 0.05976325, 0.03189818, 0.90833857 (its average estimates there predate a fix and are
not used). bacondecomp's own test (tests/testthat/test_summary.R) checks the same table at three
decimals against Stata's bacondecomp.

Data and the treatment coding
-----------------------------
``causaldata.castle`` (causaldata 0.1.5; the Mixtape copy of Cheng and Hoekstra's state panel,
50 states x 2000-2010). Its ``post`` is binary but switches on one year later than
``bacondecomp::castle$post``: the latter is 1 from the year a law took effect (Cheng and
Hoekstra 2013, Table 1: Florida 2005, 13 states 2006, ...), causaldata's from the following year
(Florida 2006, ...). The test rebuilds bacondecomp's coding as 1[year >= first post year - 1];
with it every printed number is reproduced, including the TWFE coefficient to 15 digits, which
confirms the data are the same. Neither coding is fractional here (the original data's share of
the adoption year a law was in force, ``cdl``, is not part of either copy).

Tolerances: the printed precision (5 decimals for the table, 8 for the notebook weights), and
1e-12 relative for the TWFE coefficient (closed form).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from parkimpact import FirmPanel
from parkimpact.did.bacon import BaconDecomposition, BaconResult

causaldata = pytest.importorskip("causaldata")

pytestmark = pytest.mark.reference

FINGERPRINT = "ee66c4311b56395c567dc56e9a2e16a59d182341e7eb54f669d5f076060611f8"


@pytest.fixture(scope="module")
def castle() -> pd.DataFrame:
    data = causaldata.castle.load_pandas().data[["sid", "year", "post", "l_homicide"]]
    digest = hashlib.sha256(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    assert digest.hexdigest() == FINGERPRINT, "causaldata.castle changed; re-check the reference"
    first_post = data.loc[data["post"] == 1].groupby("sid")["year"].min()
    effective = data["sid"].map(first_post - 1)
    return data.assign(post_effective=(data["year"] >= effective).astype(int))


@pytest.fixture(scope="module")
def result(castle: pd.DataFrame) -> BaconResult:
    panel = FirmPanel(castle, unit="sid", time="year")
    return BaconDecomposition("l_homicide", treatment="post_effective").fit(panel)


def test_twfe_coefficient(result: BaconResult) -> None:
    assert result.twfe == pytest.approx(0.0818116169306475, rel=1e-12)
    assert result.weighted_sum == pytest.approx(result.twfe, abs=1e-10)
    assert result.comparisons["weight"].sum() == pytest.approx(1.0, abs=1e-12)


def test_summary_by_type_matches_bacondecomp(result: BaconResult) -> None:
    by_type = result.summary_by_type()
    expected = pd.DataFrame(
        {"weight": [0.05976, 0.03190, 0.90834], "estimate": [-0.00554, 0.07032, 0.08796]},
        index=["Earlier vs Later Treated", "Later vs Earlier Treated", "Treated vs Untreated"],
    )
    assert list(by_type.index) == list(expected.index)
    np.testing.assert_allclose(by_type["weight"], expected["weight"], atol=5e-6)
    np.testing.assert_allclose(by_type["estimate"], expected["estimate"], atol=5e-6)
    notebook = [0.05976325, 0.03189818, 0.90833857]
    np.testing.assert_allclose(by_type["weight"], notebook, atol=5e-9)


def test_causaldata_coding_still_decomposes_exactly(castle: pd.DataFrame) -> None:
    panel = FirmPanel(castle, unit="sid", time="year")
    result = BaconDecomposition("l_homicide", treatment="post").fit(panel)
    assert result.weighted_sum == pytest.approx(result.twfe, abs=1e-10)
    assert result.twfe == pytest.approx(0.0693984292839074, rel=1e-10)  # pyfixest 0.60 feols
