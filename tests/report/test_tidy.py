"""Tests of the tidy schema, the result protocol and the number formatters."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from parkimpact.report import (
    TIDY_COLUMNS,
    ModelInfo,
    ResultBase,
    conf_int_from_tidy,
    make_tidy,
    validate_tidy,
    write_tidy_csv,
)
from parkimpact.report.render import format_count, format_number, significant

TERMS = ["log_capital", "log_labor", "park"]
ESTIMATES = np.array([0.31, -0.052, 1.7])
STD_ERRORS = np.array([0.04, 0.061, 0.9])


@dataclass(frozen=True)
class FakeResult(ResultBase):
    """A minimal immutable result implementing the protocol."""

    terms: tuple[str, ...]
    estimates: tuple[float, ...]
    std_errors: tuple[float, ...]
    info: ModelInfo
    df: float | None = None
    keys: dict[str, list[object]] = field(default_factory=dict)

    def tidy(self) -> pd.DataFrame:
        return make_tidy(
            list(self.terms),
            self.estimates,
            self.std_errors,
            df=self.df,
            keys=self.keys or None,
        )

    def model_info(self) -> ModelInfo:
        return self.info


@pytest.fixture(scope="module")
def fake_result() -> FakeResult:
    info = ModelInfo(
        name="Cobb-Douglas <OLS>",
        n_obs=1234,
        n_units=150,
        n_clusters=150,
        fixed_effects=("firm", "year"),
        cluster="firm_id",
        se_type="cluster-robust (firm)",
        dependent="log_output",
        notes=("Sample of manufacturing firms.",),
        extra={"R2": "0.412"},
    )
    return FakeResult(tuple(TERMS), tuple(ESTIMATES), tuple(STD_ERRORS), info)


# ---------------------------------------------------------------------------
# make_tidy
# ---------------------------------------------------------------------------


def test_make_tidy_normal_matches_hand_computation() -> None:
    frame = make_tidy(TERMS, ESTIMATES, STD_ERRORS)
    z = ESTIMATES / STD_ERRORS
    q = stats.norm.ppf(0.975)
    assert tuple(frame.columns) == TIDY_COLUMNS
    assert frame["term"].tolist() == TERMS
    np.testing.assert_allclose(frame["statistic"], z, rtol=1e-12, atol=0)
    np.testing.assert_allclose(frame["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    np.testing.assert_allclose(frame["conf_low"], ESTIMATES - q * STD_ERRORS, rtol=1e-12)
    np.testing.assert_allclose(frame["conf_high"], ESTIMATES + q * STD_ERRORS, rtol=1e-12)
    assert frame.attrs == {"level": 0.95}


def test_make_tidy_student_t_matches_hand_computation() -> None:
    frame = make_tidy(TERMS, ESTIMATES, STD_ERRORS, level=0.9, df=12)
    t = ESTIMATES / STD_ERRORS
    q = stats.t.ppf(0.95, 12)
    np.testing.assert_allclose(frame["p_value"], 2 * stats.t.sf(np.abs(t), 12), rtol=1e-12)
    np.testing.assert_allclose(frame["conf_low"], ESTIMATES - q * STD_ERRORS, rtol=1e-12)
    np.testing.assert_allclose(frame["conf_high"], ESTIMATES + q * STD_ERRORS, rtol=1e-12)
    assert frame.attrs == {"level": 0.9, "df": 12.0}


def test_make_tidy_nan_std_error_gives_nan_inference_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = make_tidy(["a", "b"], [0.5, np.nan], [np.nan, 0.2])
    row = frame.iloc[0]
    assert row["estimate"] == 0.5
    for column in ("statistic", "p_value", "conf_low", "conf_high"):
        assert np.isnan(row[column])
    assert np.isnan(frame.loc[1, "p_value"])


def test_make_tidy_places_family_keys_after_term() -> None:
    keys = {"cohort": [2005, 2006], "year": [2007, 2008]}
    frame = make_tidy(["att", "att"], [0.1, 0.2], [0.05, 0.05], keys=keys)
    assert list(frame.columns) == ["term", "cohort", "year", *TIDY_COLUMNS[1:]]
    assert frame["cohort"].tolist() == [2005, 2006]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimates": [1.0, 2.0]}, r"estimates must be one-dimensional with one value per term"),
        ({"std_errors": [[0.1, 0.2, 0.3]]}, r"std_errors must be one-dimensional"),
        ({"std_errors": [0.1, -0.2, 0.3]}, r"std_errors must be non-negative or NaN; got 1"),
        ({"estimates": ["a", "b", "c"]}, r"estimates must be numeric"),
        ({"level": 1.0}, r"level must be a number strictly between 0 and 1; got 1.0"),
        ({"level": True}, r"level must be a number strictly between 0 and 1"),
        ({"df": 0}, r"df must be a positive number or None; got 0"),
        ({"keys": {"estimate": [1, 2, 3]}}, r"keys must be named by strings other than"),
        ({"keys": {"year": [1, 2]}}, r"keys\['year'\] must have one value per term \(3\); got 2"),
        ({"terms": "att"}, r"terms must be a sequence of names; got the string 'att'"),
    ],
)
def test_make_tidy_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "terms": TERMS,
        "estimates": ESTIMATES,
        "std_errors": STD_ERRORS,
    }
    arguments.update(kwargs)
    terms = arguments.pop("terms")
    estimates = arguments.pop("estimates")
    std_errors = arguments.pop("std_errors")
    with pytest.raises(ValueError, match=message):
        make_tidy(terms, estimates, std_errors, **arguments)  # type: ignore[arg-type]


def test_validate_tidy_reports_missing_columns() -> None:
    frame = make_tidy(TERMS, ESTIMATES, STD_ERRORS).drop(columns=["p_value", "conf_high"])
    with pytest.raises(ValueError, match=r"got 2 missing: \['p_value', 'conf_high'\]"):
        validate_tidy(frame)
    with pytest.raises(TypeError, match="frame must be a pandas DataFrame; got dict"):
        validate_tidy({"term": []})  # type: ignore[arg-type]


def test_conf_int_from_tidy_uses_the_frame_distribution() -> None:
    normal = conf_int_from_tidy(make_tidy(TERMS, ESTIMATES, STD_ERRORS), 0.8)
    q = stats.norm.ppf(0.9)
    np.testing.assert_allclose(normal["conf_low"], ESTIMATES - q * STD_ERRORS, rtol=1e-12)
    assert normal.attrs["level"] == 0.8
    student = conf_int_from_tidy(make_tidy(TERMS, ESTIMATES, STD_ERRORS, df=7), 0.8)
    q = stats.t.ppf(0.9, 7)
    np.testing.assert_allclose(student["conf_high"], ESTIMATES + q * STD_ERRORS, rtol=1e-12)
    with pytest.raises(ValueError, match="level must be a number strictly between 0 and 1"):
        conf_int_from_tidy(make_tidy(TERMS, ESTIMATES, STD_ERRORS), 95)


# ---------------------------------------------------------------------------
# the result protocol
# ---------------------------------------------------------------------------


def test_summary_lists_terms_and_counts(fake_result: FakeResult) -> None:
    text = fake_result.summary()
    assert text.startswith("Cobb-Douglas <OLS>\n")
    for term in TERMS:
        assert term in text
    for line in (
        "Observations: 1234",
        "Firms: 150",
        "Clusters: 150 (firm_id)",
        "Fixed effects: firm, year",
        "SE: cluster-robust (firm)",
        "Dependent variable: log_output",
        "R2: 0.412",
        "Sample of manufacturing firms.",
    ):
        assert line in text
    assert "P>|z|" in text and "95% CI low" in text
    assert "0.3100" in text and "7.750" in text
    assert str(fake_result) == text


def test_summary_uses_t_label_with_degrees_of_freedom() -> None:
    result = FakeResult(("a",), (1.0,), (0.5,), ModelInfo(name="m"), df=20)
    assert "P>|t|" in result.summary()
    assert "t with 20 df" in result.summary()


def test_repr_html_escapes_markup(fake_result: FakeResult) -> None:
    result = dataclasses.replace(fake_result, terms=("<script>", "b & c", "park"))
    page = result._repr_html_()
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "b &amp; c" in page
    assert "<caption>Cobb-Douglas &lt;OLS&gt;</caption>" in page
    assert page.count("<tr>") == 1 + 3 + 8  # header, coefficients, footer lines


def test_conf_int_matches_hand_numbers(fake_result: FakeResult) -> None:
    intervals = fake_result.conf_int(0.9)
    q = stats.norm.ppf(0.95)
    assert list(intervals.columns) == ["conf_low", "conf_high"]
    assert intervals.index.tolist() == TERMS
    np.testing.assert_allclose(intervals["conf_low"], ESTIMATES - q * STD_ERRORS, rtol=1e-12)
    np.testing.assert_allclose(intervals["conf_high"], ESTIMATES + q * STD_ERRORS, rtol=1e-12)


def test_conf_int_indexes_by_term_and_keys() -> None:
    result = FakeResult(
        ("att", "att"), (0.1, 0.3), (0.1, 0.1), ModelInfo(name="es"), keys={"event_time": [0, 1]}
    )
    intervals = result.conf_int()
    assert intervals.index.names == ["term", "event_time"]
    assert intervals.index.tolist() == [("att", 0), ("att", 1)]


def test_result_base_keeps_frozen_dataclasses_frozen(fake_result: FakeResult) -> None:
    fake_result.summary()
    fake_result._repr_html_()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fake_result.info = ModelInfo(name="x")  # type: ignore[misc]


def test_result_base_requires_tidy_and_model_info() -> None:
    class Incomplete(ResultBase):
        def tidy(self) -> pd.DataFrame:
            return make_tidy([], [], [])

    with pytest.raises(TypeError, match="model_info"):
        Incomplete()  # type: ignore[abstract]


# ---------------------------------------------------------------------------
# formatters and CSV output
# ---------------------------------------------------------------------------


def test_format_number() -> None:
    assert format_number(1234.5678) == "1234.568"
    assert format_number(-0.0001) == "0.000"
    assert format_number(np.float32(0.5), digits=1) == "0.5"
    assert format_number(float("nan")) == ""
    assert format_number(None) == ""
    assert format_count(12840.0) == "12840"
    with pytest.raises(ValueError, match="digits must be a non-negative integer; got -1"):
        format_number(1.0, digits=-1)
    with pytest.raises(TypeError, match="x must be a real number; got str"):
        format_number("1.0")


def test_significant_uses_ten_digits() -> None:
    assert significant(1 / 3) == "0.3333333333"
    assert significant(123456789012.0) == "1.23456789e+11"
    assert significant(float("nan")) == ""


def test_write_tidy_csv_is_byte_reproducible(tmp_path: Path) -> None:
    frame = make_tidy(["a", "b"], [1 / 3, -2 / 7], [0.1, np.nan], keys={"year": [2001, 2002]})
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    write_tidy_csv(frame, first)
    write_tidy_csv(frame.copy(), second)
    content = first.read_bytes()
    assert content == second.read_bytes()
    assert b"\r\n" not in content
    lines = content.decode("utf-8").splitlines()
    assert lines[0] == "term,year,estimate,std_error,statistic,p_value,conf_low,conf_high"
    assert lines[1].startswith("a,2001,0.3333333333,0.1,3.333333333,")
    assert lines[2].startswith("b,2002,-0.2857142857,,,,,")


def test_write_tidy_csv_rejects_non_tidy_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="frame must have the tidy columns"):
        write_tidy_csv(pd.DataFrame({"term": ["a"]}), tmp_path / "x.csv")
