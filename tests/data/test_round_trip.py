"""Round trip: simulate raw sources, build the panel, get exactly the simulator's clean panel."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from parkimpact import build_panel
from parkimpact.datasets import simulate_parks
from parkimpact.errors import DataFormatError, ParkImpactWarning


@pytest.fixture(scope="module")
def sim():  # type: ignore[no-untyped-def]
    return simulate_parks(n_firms=400, seed=11)


def quiet_build(**kw: object):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)
        return build_panel(**kw)


def assert_same_panel(built: pd.DataFrame, truth: pd.DataFrame) -> None:
    assert list(built.columns) == list(truth.columns)
    # Tolerance: nominal = real x index / 100 and back is exact up to floating-point
    # rounding (1e-12 relative); everything else (ids, years, counts, tenancy) is exact.
    pd.testing.assert_frame_equal(built, truth, check_exact=False, rtol=1e-12, atol=0.0)


def test_round_trip_in_memory(sim) -> None:  # type: ignore[no-untyped-def]
    panel = quiet_build(
        financials=sim.financials,
        tenancy=sim.tenancy,
        patents=sim.patents,
        deflators=sim.deflators,
        mapping=sim.mapping,
        exits="keep_treated",
    )
    assert_same_panel(panel.data, sim.panel)
    assert len(panel.drops) == 0 and panel.drops.accounting()["balanced"].all()


def test_round_trip_through_files(sim, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim.write_sources(tmp_path)
    panel = quiet_build(mapping=tmp_path / "mapping.toml", exits="keep_treated")
    assert_same_panel(panel.data, sim.panel)


def test_messy_sources_are_accounted_for(tmp_path: Path) -> None:
    messy = simulate_parks(n_firms=300, seed=5, missing=0.01, format_errors=0.01, duplicates=0.01)
    messy.write_sources(tmp_path)
    with pytest.raises(DataFormatError, match="must be numeric; got text in"):
        quiet_build(mapping=tmp_path / "mapping.toml", exits="keep_treated")
    panel = quiet_build(
        mapping=tmp_path / "mapping.toml",
        exits="keep_treated",
        bad_values="drop",
        duplicates="drop",
        zeros="drop",
    )
    acc = panel.drops.accounting().set_index("source")
    assert acc["balanced"].all()
    assert acc.loc["financials", "rows_in"] == len(messy.financials)
    reasons = set(panel.drops.counts()["reason"])
    assert "repeated firm-year (kept the first)" in reasons
    assert any(r.startswith("text in numeric column") for r in reasons)
    # rows that survive carry the clean values
    clean = messy.panel.set_index(["firm_id", "year"])
    kept = panel.data.set_index(["firm_id", "year"])
    both = kept.index.intersection(clean.index)
    got, want = kept.loc[both, "employment"], clean.loc[both, "employment"]
    ok = got.notna()
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-12)
