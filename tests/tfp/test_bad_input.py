"""Bad input: typed errors and warnings with tested messages; dropped rows are reported."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tests.tfp.conftest import acf_panel, quiet_fit

from parkimpact import FirmPanel
from parkimpact.errors import (
    ConvergenceError,
    DataFormatError,
    DroppedRowsWarning,
    IdentificationError,
)
from parkimpact.tfp import (
    ACF,
    OLS,
    KnowledgeCapital,
    LevinsohnPetrin,
    OlleyPakes,
    ProxyWarning,
    RDParkElasticity,
    Wooldridge,
)

KW = {"output": "y", "free": "l", "state": "k"}


@pytest.fixture(scope="module")
def levels() -> FirmPanel:
    """ACF DGP2 in levels, with non-positive labour in 3 rows and zero investment in 5."""
    data = acf_panel(2, n_firms=300).data
    frame = data.assign(
        Y=np.exp(data["y"]),
        L=np.exp(data["l"]),
        K=np.exp(data["k"]),
        M=np.exp(data["m"]),
        I=np.exp(data["i"]),
    )
    frame.loc[[11, 12, 40], "L"] = [0.0, -1.0, 0.0]
    frame.loc[[5, 77, 78, 150, 151], "I"] = 0.0
    return FirmPanel(frame, unit="firm_id", time="year")


def test_non_positive_inputs_are_dropped_and_reported(levels: FirmPanel) -> None:
    estimator = LevinsohnPetrin(output="Y", free="L", state="K", proxy="M", log_inputs=True)
    with pytest.warns(DroppedRowsWarning, match="non-positive L before log"):
        result = estimator.fit(levels)
    counts = result.drops.counts()
    row = counts.loc[counts["reason"] == "non-positive L before log"]
    assert int(row["rows"].iloc[0]) == 3
    assert result.tfp.isna().to_numpy()[[11, 12, 40]].all()
    assert result.tfp.notna().sum() == levels.n_obs - 3
    assert list(result.params.index) == ["log_L", "log_K"]


@pytest.mark.filterwarnings("ignore::parkimpact.tfp.MultipleOptimaWarning")
@pytest.mark.filterwarnings("ignore:.*non-positive L before log")
def test_zero_investment_is_dropped_for_olley_pakes(levels: FirmPanel) -> None:
    estimator = OlleyPakes(output="Y", free="L", state="K", proxy="I", log_inputs=True)
    with pytest.warns(DroppedRowsWarning, match="zero investment"):
        result = estimator.fit(levels)
    frame = result.drops.to_frame()
    gone = frame.loc[frame["step"] == "olley_pakes"]
    assert len(gone) == 5 and gone["reason"].str.contains("zero investment").all()
    data = levels.data
    assert sorted(zip(gone["unit"], gone["time"], strict=True)) == sorted(
        zip(
            data.loc[[5, 77, 78, 150, 151], "firm_id"],
            data.loc[[5, 77, 78, 150, 151], "year"],
            strict=True,
        )
    )


@pytest.mark.filterwarnings("ignore::parkimpact.tfp.MultipleOptimaWarning")
def test_log_zero_investment_is_dropped_too() -> None:
    data = acf_panel(2, n_firms=200).data
    data.loc[[3, 4], "i"] = -np.inf
    panel = FirmPanel(data, unit="firm_id", time="year")
    with pytest.warns(DroppedRowsWarning, match=r"2 row\(s\) of panel dropped .* zero investment"):
        OlleyPakes(**KW, proxy="i").fit(panel)


def test_missing_values_are_dropped_and_reported() -> None:
    data = acf_panel(2, n_firms=200).data
    data.loc[[7, 8], "k"] = np.nan
    panel = FirmPanel(data, unit="firm_id", time="year")
    with pytest.warns(DroppedRowsWarning, match="missing or non-finite k"):
        result = OLS(**KW).fit(panel)
    assert result.n_obs == panel.n_obs - 2


@pytest.mark.filterwarnings("ignore::parkimpact.tfp.MultipleOptimaWarning")
def test_firms_observed_once_are_reported() -> None:
    data = acf_panel(2, n_firms=200).data
    once = data["firm_id"].isin([1, 2, 3]) & (data["year"] > 1)
    panel = FirmPanel(data.loc[~once], unit="firm_id", time="year")
    with pytest.warns(DroppedRowsWarning, match="firm observed only once: no lag"):
        result = ACF(**KW, proxy="m").fit(panel)
    frame = result.drops.to_frame()
    single = frame.loc[frame["reason"].str.startswith("firm observed only once")]
    assert sorted(single["unit"]) == [1, 2, 3]
    accounting = result.drops.accounting().set_index("source")
    assert accounting.loc["second_stage", "balanced"]


def _industries(small: int) -> FirmPanel:
    data = acf_panel(2, n_firms=300).data
    sector = np.where(data["firm_id"] <= small, "tiny", "large")
    return FirmPanel(data.assign(sector=sector), unit="firm_id", time="year", industry="sector")


def test_industry_with_too_few_firms_raises() -> None:
    with pytest.raises(IdentificationError, match=r"must have at least 20 firms .* 'tiny' \(7\)"):
        LevinsohnPetrin(**KW, proxy="m", by="industry").fit(_industries(7))


def test_industry_with_too_few_firms_can_be_dropped() -> None:
    estimator = LevinsohnPetrin(**KW, proxy="m", by="industry", small_groups="drop")
    with pytest.warns(DroppedRowsWarning, match="sector with fewer than 20 firms"):
        result = estimator.fit(_industries(7))
    assert list(result.results) == ["large"]
    assert result.tfp.isna().sum() == 70


def test_a_proxy_that_is_not_monotone_warns() -> None:
    data = acf_panel(2, n_firms=300).data
    panel = FirmPanel(data.assign(m=-data["m"]), unit="firm_id", time="year")
    with pytest.warns(ProxyWarning, match="proxy m must be increasing in productivity"):
        quiet_fit_keep_proxy_warning(LevinsohnPetrin(**KW, proxy="m"), panel)


def quiet_fit_keep_proxy_warning(estimator, panel):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return estimator.fit(panel)


def test_optimizer_failure_raises_convergence_error_with_the_path() -> None:
    estimator = ACF(**KW, proxy="m", n_grid=0, max_evaluations=1)
    with pytest.raises(ConvergenceError, match="must reach a local minimum") as info:
        quiet_fit(estimator, acf_panel(2, n_firms=200))
    assert len(info.value.criterion_path) >= 1


def test_exit_correction_needs_exits() -> None:
    with pytest.raises(IdentificationError, match="exit_correction needs both exiting"):
        quiet_fit(OlleyPakes(**KW, proxy="i", exit_correction=True), acf_panel(2, n_firms=100))


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda: ACF(output="y", free=3, state="k", proxy="m"),
            TypeError,
            "free must be a column name or a sequence",
        ),
        (lambda: ACF(output="y", state=(), proxy="m"), ValueError, "state must name at least"),
        (lambda: ACF(**KW, proxy="m", kind="net"), ValueError, "kind must be one of"),
        (lambda: ACF(**KW, proxy="m", search_box=(1, 0)), ValueError, "search_box must be a pair"),
        (lambda: ACF(**KW, proxy="m", n_boot=-1), ValueError, "n_boot must be an integer"),
        (lambda: ACF(**KW, proxy="m", n_jobs=0), ValueError, "n_jobs must be a non-zero"),
        (lambda: ACF(**KW, proxy="m", start=("a",)), ValueError, "start must be a sequence"),
        (
            lambda: ACF(**KW, proxy="m", functional_form="ces"),
            ValueError,
            "functional_form must be",
        ),
        (lambda: ACF(**KW, proxy="m", log_inputs="yes"), TypeError, "log_inputs must be True"),
        (
            lambda: ACF(output="y", free=("l", "l"), state="k", proxy="m"),
            ValueError,
            "must not repeat",
        ),
        (
            lambda: OlleyPakes(**KW, proxy="i", kind="gross_output"),
            ValueError,
            "kind must be 'value_added' for OlleyPakes",
        ),
        (lambda: Wooldridge(**KW, proxy="m", method="ols"), ValueError, "method must be 'iv'"),
        (
            lambda: Wooldridge(**KW, proxy="m", convention="stata"),
            ValueError,
            "convention must be 'textbook' or 'prodest'",
        ),
        (
            lambda: Wooldridge(**KW, proxy="m", method="gmm", convention="prodest"),
            ValueError,
            "defined for method='iv' only",
        ),
        (
            lambda: RDParkElasticity(output="y", fixed_effects="year"),
            ValueError,
            "fixed_effects must be",
        ),
        (lambda: KnowledgeCapital(production="ACF"), TypeError, "production must be"),
    ],
)
def test_bad_settings_are_refused(make, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        make()


def test_bad_data_arguments_are_refused() -> None:
    panel = acf_panel(2, n_firms=100)
    with pytest.raises(TypeError, match="panel must be a FirmPanel; got DataFrame"):
        ACF(**KW, proxy="m").fit(panel.data)
    with pytest.raises(DataFormatError, match="panel must have column"):
        ACF(**KW, proxy="materials").fit(panel)
    with pytest.raises(ValueError, match="start must have one value per second-stage"):
        quiet_fit(ACF(**KW, proxy="m", start=(0.5,)), panel)
    with pytest.raises(ValueError, match="must declare the entry role"):
        RDParkElasticity(output="y", inputs="l", rd_capital="k").fit(panel)
    negative = FirmPanel(panel.data.assign(rd=-2.0), unit="firm_id", time="year")
    with pytest.raises(ValueError, match="rd must be >= 0"):
        KnowledgeCapital(production=OLS(**KW), rd_capital="rd").fit(negative)
    data = pd.DataFrame({"firm": [1, 2], "year": [2000, 2000], "y": [1.0, 2.0]})
    with pytest.raises(DataFormatError):
        OLS(output="y", state="k").fit(FirmPanel(data, unit="firm", time="year"))
