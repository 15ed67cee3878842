"""Perpetual-inventory R&D capital against a hand recursion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from parkimpact.data import perpetual_inventory


def hand_recursion(frame: pd.DataFrame, delta: float, g: float) -> pd.Series:
    """K_t0 = R_t0/(g+delta); K_t = (1-delta)^(t-t') K_t' + R_t, written as a plain loop."""
    out = pd.Series(np.nan, index=frame.index)
    for _, firm in frame.sort_values("t").groupby("u"):
        stock, prev_t = np.nan, None
        for idx, row in firm.iterrows():
            if prev_t is None:
                stock = row["r"] / (g + delta)
            else:
                stock = (1 - delta) ** (row["t"] - prev_t) * stock + row["r"]
            out[idx], prev_t = stock, row["t"]
    return out


def test_matches_hand_recursion_with_gaps_and_shuffled_rows() -> None:
    rng = np.random.default_rng(1)
    rows = [(u, t) for u in range(30) for t in range(2000, 2012) if rng.random() > 0.2]
    frame = pd.DataFrame(rows, columns=["u", "t"]).sample(frac=1.0, random_state=2)
    frame["r"] = rng.gamma(2.0, 3.0, len(frame))
    got = perpetual_inventory(frame["u"], frame["t"], frame["r"], depreciation=0.15, growth=0.05)
    want = hand_recursion(frame, 0.15, 0.05)
    np.testing.assert_allclose(got, want.to_numpy(), rtol=1e-12)  # closed form == recursion


def test_textbook_numbers() -> None:
    # R = 10 every year: K0 = 10/0.2 = 50, K1 = 0.85*50 + 10 = 52.5, K2 = 0.85*52.5 + 10 = 54.625.
    got = perpetual_inventory([1, 1, 1], [2000, 2001, 2002], [10.0, 10.0, 10.0])
    np.testing.assert_allclose(got, [50.0, 52.5, 54.625], rtol=1e-14)


def test_missing_flow_breaks_the_stock() -> None:
    got = perpetual_inventory([1, 1, 1, 2], [2000, 2001, 2002, 2000], [10.0, np.nan, 5.0, 4.0])
    assert np.isnan(got[1:3]).all() and got[0] == 50.0 and got[3] == 20.0


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match=r"depreciation must be in \(0, 1\)"):
        perpetual_inventory([1], [2000], [1.0], depreciation=1.5)
    with pytest.raises(ValueError, match="growth \\+ depreciation must be positive"):
        perpetual_inventory([1], [2000], [1.0], growth=-0.2)
    with pytest.raises(ValueError, match="non-negative; got 1 negative"):
        perpetual_inventory([1], [2000], [-1.0])
