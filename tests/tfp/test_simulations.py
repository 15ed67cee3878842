"""Simulations with known truth: the ACF (2015) designs and a gross-output economy.

Truth: ACF designs l = 0.6, k = 0.4 (``parkimpact.datasets.simulate_acf``);
gross output l = 0.25, k = 0.15, m = 0.55 (``conftest.gross_output_panel``).
Sampling SDs at 1,000 firms x 10 years, measured over seeds 0-5: ACF about
0.01 (l) and 0.02 (k); GNR about 0.02 (l), 0.012 (k), 0.0003 (m).
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.tfp.conftest import (
    GROSS_TRUTH,
    acf_panel,
    gross_output_panel,
    knowledge_panel,
    quiet_fit,
)

from parkimpact import FirmPanel
from parkimpact.tfp import ACF, GNR, KnowledgeCapital, LevinsohnPetrin

TRUTH = np.array([0.6, 0.4])
ACF_KW = {"output": "y", "free": "l", "state": "k", "proxy": "m"}


@pytest.mark.parametrize("dgp", [1, 2, 3])
def test_acf_recovers_the_truth_on_each_design(dgp: int) -> None:
    # ACF (2015) designs without measurement error, 1,000 firms x 10 years, seed 0
    result = quiet_fit(ACF(**ACF_KW), acf_panel(dgp))
    assert result.params[["l", "k"]].to_numpy() == pytest.approx(TRUTH, abs=0.02)
    assert result.returns_to_scale == pytest.approx(1.0, abs=0.03)


@pytest.mark.slow
@pytest.mark.parametrize("dgp", [1, 2, 3])
def test_acf_is_unbiased_over_seeds(dgp: int) -> None:
    # mean over 8 seeds within 0.02 of the truth; each seed within 4 sampling SDs
    estimates = np.array(
        [quiet_fit(ACF(**ACF_KW), acf_panel(dgp, seed=s)).params.to_numpy() for s in range(8)]
    )
    assert estimates.mean(axis=0) == pytest.approx(TRUTH, abs=0.02)
    assert np.abs(estimates - TRUTH).max(axis=0) == pytest.approx([0.0, 0.0], abs=0.1)


def test_levinsohn_petrin_fails_under_functional_dependence() -> None:
    # Teaching test (ACF 2015, section 3): in DGP1 labour is a deterministic function of
    # (k, m, t) so the first stage cannot identify it and its coefficient collapses to 0;
    # in DGP2 (optimisation error in labour, materials chosen on planned labour) LP works.
    dgp1 = quiet_fit(LevinsohnPetrin(**ACF_KW), acf_panel(1))
    assert abs(dgp1.params["l"]) < 0.05
    dgp2 = quiet_fit(LevinsohnPetrin(**ACF_KW), acf_panel(2))
    assert dgp2.params[["l", "k"]].to_numpy() == pytest.approx(TRUTH, abs=0.03)


def test_translog_nests_cobb_douglas() -> None:
    result = quiet_fit(ACF(**ACF_KW, functional_form="translog"), acf_panel(2))
    assert result.elasticities.to_numpy() == pytest.approx(TRUTH, abs=0.05)
    assert set(result.params.index) == {"l", "k", "l^2", "l*k", "k^2"}
    assert result.returns_to_scale == pytest.approx(result.elasticities.sum())


def test_gnr_identifies_gross_output() -> None:
    # gross output, flexible materials; GNR (2020) recovers all three elasticities
    result = quiet_fit(
        GNR(output="y", free="l", state="k", proxy="m", share="share"), gross_output_panel()
    )
    truth = [GROSS_TRUTH["l"], GROSS_TRUTH["k"], GROSS_TRUTH["m"]]
    error = np.abs(result.params[["l", "k", "m"]].to_numpy() - truth)
    assert (error <= [0.06, 0.04, 0.005]).all()
    assert result.first_stage.coef.index[0] == "const"


def test_proxy_methods_cannot_identify_gross_output_materials() -> None:
    # Teaching test (GNR 2020): with a flexible input, ACF's gross-output moments leave the
    # materials elasticity unidentified; here it drifts far from the truth of 0.55.
    result = quiet_fit(ACF(**ACF_KW, kind="gross_output"), gross_output_panel())
    assert abs(result.params["m"] - GROSS_TRUTH["m"]) > 0.2


def test_knowledge_capital_elasticity() -> None:
    # ACF DGP2 plus an exogenous knowledge stock with elasticity 0.05 on log(1 + K)
    estimator = KnowledgeCapital(production=ACF(**ACF_KW))
    result = quiet_fit(estimator, knowledge_panel())
    assert result.params["log_rd_capital"] == pytest.approx(0.05, abs=0.035)
    assert (np.abs(result.params[["l", "k"]].to_numpy() - TRUTH) <= [0.02, 0.035]).all()
    assert "log_rd_capital" not in result.elasticities.index


def test_estimates_do_not_depend_on_firm_order_or_labels() -> None:
    panel = acf_panel(2, n_firms=400)
    data = panel.data
    rng = np.random.default_rng(3)
    relabel = dict(zip(data["firm_id"].unique(), rng.permutation(10_000)[:400], strict=True))
    shuffled = data.assign(firm_id=data["firm_id"].map(relabel)).sample(frac=1.0, random_state=4)
    other = FirmPanel(shuffled, unit="firm_id", time="year")
    first = quiet_fit(ACF(**ACF_KW), panel)
    second = quiet_fit(ACF(**ACF_KW), other)
    assert second.params.to_numpy() == pytest.approx(first.params.to_numpy(), abs=1e-8)


def test_rescaling_output_moves_only_the_level_of_tfp() -> None:
    panel = acf_panel(2, n_firms=400)
    shifted = FirmPanel(panel.data.assign(y=panel.data["y"] + 1.5), unit="firm_id", time="year")
    first = quiet_fit(ACF(**ACF_KW), panel)
    second = quiet_fit(ACF(**ACF_KW), shifted)
    assert second.params.to_numpy() == pytest.approx(first.params.to_numpy(), abs=1e-7)
    assert (second.tfp - first.tfp).to_numpy() == pytest.approx(np.full(len(panel), 1.5), abs=1e-6)


def test_tfp_tracks_true_productivity() -> None:
    panel = acf_panel(2)
    result = quiet_fit(ACF(**ACF_KW), panel)
    truth = panel.data["omega"].to_numpy()
    assert np.corrcoef(result.tfp.to_numpy(), truth)[0, 1] > 0.97
    assert np.corrcoef(result.tfp_with_shock.to_numpy(), truth)[0, 1] > 0.9
    shock = result.tfp_with_shock - result.tfp
    assert float(shock.std()) == pytest.approx(0.1, abs=0.02)  # sigma_eps of the design


def test_law_of_motion_controls_pick_up_a_productivity_shifter() -> None:
    # gross-output economy: omega_t = 0.2 + 0.8 omega_{t-1} + 0.1 d_{t-1} + xi_t
    estimator = GNR(
        output="y", free="l", state="k", proxy="m", share="share", law_of_motion_controls="d"
    )
    result = quiet_fit(estimator, gross_output_panel())
    assert result.law_of_motion["lag d"] == pytest.approx(0.1, abs=0.01)
    assert result.law_of_motion["omega"] == pytest.approx(0.8, abs=0.15)
