"""HonestDiD on Benzarti and Carloni (2019): restaurant profits after the 2009 French VAT cut.

Data
----
``BCdata_EventStudy`` of the R package HonestDiD (Rambachan and Roth 2023, Section 6.1): the
event-study coefficients for 2004-2007 and 2009-2012 (reference year 2008) and their covariance,
clustered by region. The values below are those of the R data set at 10 significant digits, as
transcribed in the Julia port's test fixtures (github.com/eohne/HonestDiD.jl, test/reference.jl,
"auto-generated reference values from the R HonestDiD package (BCdata_EventStudy)"); they agree
with the 7-digit copy shipped with the Stata package (github.com/mcaceresb/stata-honestdid,
``_honestExampleBCBeta()`` / ``_honestExampleBCSigma()``).

Reference results (R HonestDiD, same source file; target: the 2009 effect, l = e_1)
------------------------------------------------------------------------------------
- ``constructOriginalCS``: [0.15877494280765, 0.233147292681241].
- ``createSensitivityResults(method = "FLCI", Mvec = c(0, 0.1, 0.2))``:
  M = 0 [0.131411316, 0.2161696482], 0.1 [0.1194440001, 0.4185082143],
  0.2 [0.01944400015, 0.5185082143]. HonestDiD evaluates the folded-normal quantile with
  10^6 simulated draws; the exact quantile used here moves the bounds by about 5e-5, hence the
  tolerance 1e-3.
- ``computeConditionalCS_DeltaRM(Mbar = 1, hybrid_flag = "ARP", gridPoints = 200)`` (pure
  conditional test on the grid [-20 sd, 20 sd], sd the standard error of the 2009 coefficient):
  accepted grid points from 0.07055244362 to 0.3184394077. Deterministic: reproduced on the same
  grid without endpoint refinement to 1e-8.
- ``computeConditionalCS_DeltaRM(Mbar = 1, hybrid_flag = "LF", gridPoints = 200)``: the port
  records the same interval. The least-favourable critical value is simulated (R: 1,000 draws
  with R's generator; here 10,000 numpy draws), so the lower end may move by one grid step
  (0.0038): tolerance 0.004.
"""

from __future__ import annotations

import numpy as np
import pytest

from parkimpact.did.honest import HonestDiD, honest_ci

pytestmark = pytest.mark.reference

BC_BETAHAT = np.array([
    0.006696351804, 0.02934503369, -0.006472972222, 0.0730149895,
    0.1959611177, 0.3120639026, 0.2395415455, 0.1260425001,
])  # fmt: skip
BC_SIGMA = np.array([
    [0.0008428358124, 0.0004768686777, 0.0002618051076, 0.0002354220342,
     0.0001676371467, 0.0001128707663, 1.992816215e-05, -0.0001368265366],
    [0.0004768686777, 0.0006425420288, 0.0003987425007, 0.0002435515198,
     0.0002201960306, 0.0001804591157, 3.84376508e-05, -2.960421989e-05],
    [0.0002618051076, 0.0003987425007, 0.0005229949602, 0.000211768609,
     0.0001840722252, 0.000145852784, 7.005197403e-05, 5.952994979e-05],
    [0.0002354220342, 0.0002435515198, 0.000211768609, 0.0003089595411,
     0.0001197866077, 0.0001334081317, 0.0001016335009, 0.0001079051726],
    [0.0001676371467, 0.0002201960306, 0.0001840722252, 0.0001197866077,
     0.000359970436, 0.0002478818642, 0.0001749579242, 0.0001654256921],
    [0.0001128707663, 0.0001804591157, 0.000145852784, 0.0001334081317,
     0.0002478818642, 0.0004263949813, 0.0002171437809, 0.0002892747871],
    [1.992816215e-05, 3.84376508e-05, 7.005197403e-05, 0.0001016335009,
     0.0001749579242, 0.0002171437809, 0.0004886697861, 0.0003805322049],
    [-0.0001368265366, -2.960421989e-05, 5.952994979e-05, 0.0001079051726,
     0.0001654256921, 0.0002892747871, 0.0003805322049, 0.000761739444],
])  # fmt: skip
STATA_BETAHAT = [0.006696352, 0.029345034, -0.006472972, 0.073014989,
                 0.195961118, 0.312063903, 0.239541546, 0.126042500]  # fmt: skip

ORIGINAL = (0.15877494280765, 0.233147292681241)
FLCI = {0.0: (0.131411316, 0.2161696482), 0.1: (0.1194440001, 0.4185082143),
        0.2: (0.01944400015, 0.5185082143)}  # fmt: skip
RM_MBAR1_GRID200 = (0.07055244362, 0.3184394077)
R_GRID_STEP = 2 * 20 * np.sqrt(BC_SIGMA[4, 4]) / 199


def test_data_agree_with_the_stata_copy() -> None:
    np.testing.assert_allclose(BC_BETAHAT, STATA_BETAHAT, atol=5e-10)
    np.testing.assert_allclose(BC_SIGMA, BC_SIGMA.T, atol=0)


def test_original_interval() -> None:
    result = honest_ci(BC_BETAHAT, BC_SIGMA, 4, 4, restriction="smoothness", m_values=[0])
    assert result.original == pytest.approx(ORIGINAL, abs=1e-9)


def test_flci_smoothness() -> None:
    result = honest_ci(BC_BETAHAT, BC_SIGMA, 4, 4, restriction="smoothness", m_values=[0, 0.1, 0.2])
    assert result.method == "FLCI"
    for i, (low, high) in enumerate(FLCI.values()):
        assert result.conf_low[i] == pytest.approx(low, abs=1e-3)
        assert result.conf_high[i] == pytest.approx(high, abs=1e-3)


def test_conditional_relative_magnitudes_on_the_r_grid() -> None:
    bound = 20 * np.sqrt(BC_SIGMA[4, 4])
    estimator = HonestDiD(
        restriction="relative_magnitudes", m_values=[1.0], grid_points=200,
        grid_bounds=(-bound, bound), refine=False, hybrid=False,
    )  # fmt: skip
    result = estimator.fit_arrays(BC_BETAHAT, BC_SIGMA, 4, 4)
    assert result.method == "Conditional"
    assert result.conf_low[0] == pytest.approx(RM_MBAR1_GRID200[0], abs=1e-8)
    assert result.conf_high[0] == pytest.approx(RM_MBAR1_GRID200[1], abs=1e-8)
    refined = HonestDiD(
        restriction="relative_magnitudes", m_values=[1.0], grid_points=200,
        grid_bounds=(-bound, bound), hybrid=False,
    ).fit_arrays(BC_BETAHAT, BC_SIGMA, 4, 4)  # fmt: skip
    assert RM_MBAR1_GRID200[0] - R_GRID_STEP < refined.conf_low[0] <= RM_MBAR1_GRID200[0]
    assert RM_MBAR1_GRID200[1] <= refined.conf_high[0] < RM_MBAR1_GRID200[1] + R_GRID_STEP


def test_hybrid_relative_magnitudes_on_the_r_grid() -> None:
    bound = 20 * np.sqrt(BC_SIGMA[4, 4])
    result = honest_ci(
        BC_BETAHAT, BC_SIGMA, 4, 4, restriction="relative_magnitudes", m_values=[1.0],
        grid_points=200, grid_bounds=(-bound, bound), refine=False,
    )  # fmt: skip
    assert result.method == "C-LF"
    assert result.conf_low[0] == pytest.approx(RM_MBAR1_GRID200[0], abs=0.004)
    assert result.conf_high[0] == pytest.approx(RM_MBAR1_GRID200[1], abs=0.004)
