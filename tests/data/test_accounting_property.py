"""Row accounting as a property: for random messy sources, rows in = kept + reported."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parkimpact import build_panel
from parkimpact.errors import PanelStructureError, ParkImpactWarning

CELLS = st.one_of(
    st.floats(min_value=-5, max_value=100),
    st.just(np.nan),
    st.sampled_from(["n/a", "1,5", "", "abc"]),
)


@st.composite
def messy_sources(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(1, 40))
    firm = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    year = draw(st.lists(st.integers(2000, 2005), min_size=n, max_size=n))
    fin = pd.DataFrame(
        {
            "firm_id": firm,
            "year": year,
            "output": draw(st.lists(CELLS, min_size=n, max_size=n)),
            "employment": draw(st.lists(st.floats(0, 50), min_size=n, max_size=n)),
            "rd": draw(
                st.lists(st.one_of(st.floats(0, 10), st.just(np.nan)), min_size=n, max_size=n)
            ),
        }
    )
    m = draw(st.integers(0, 10))
    entry = draw(st.lists(st.integers(1995, 2008), min_size=m, max_size=m))
    length = draw(st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=m, max_size=m))
    ten = pd.DataFrame(
        {
            "firm_id": draw(st.lists(st.integers(1, 10), min_size=m, max_size=m)),
            "park": draw(
                st.lists(st.sampled_from(["Hsinchu", "Central", None]), min_size=m, max_size=m)
            ),
            "entry_date": [f"{e}-06-01" for e in entry],
            "exit_date": [
                None if k is None else f"{e + k}-06-01" for e, k in zip(entry, length, strict=True)
            ],
        }
    )
    k = draw(st.integers(0, 15))
    pat = pd.DataFrame(
        {
            "patent_id": range(k),
            "firm_id": draw(st.lists(st.integers(1, 10), min_size=k, max_size=k)),
            "application_date": draw(
                st.lists(
                    st.one_of(
                        st.integers(1998, 2007).map(lambda y: f"{y}-03-03"), st.just("bad date")
                    ),
                    min_size=k,
                    max_size=k,
                )
            ),
            "forward_citations": draw(st.lists(st.integers(0, 9), min_size=k, max_size=k)),
        }
    )
    return fin, ten, pat


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_sources())
def test_rows_in_equal_kept_plus_reported(src: tuple[pd.DataFrame, ...]) -> None:
    fin, ten, pat = src
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParkImpactWarning)
        try:
            panel = build_panel(
                fin,
                ten,
                pat,
                bad_values="drop",
                duplicates="drop",
                zeros="drop",
                exits="censor",
                logs=("output",),
            )
        except PanelStructureError as exc:  # every row dropped: the message carries the report
            assert "must have at least one row; got 0" in str(exc)
            assert f"financials   {len(fin)} = 0 + {len(fin)}" in str(exc)
            return
    acc = panel.drops.accounting().set_index("source")
    assert acc.loc["financials", "rows_in"] == len(fin)
    assert acc.loc["tenancy", "rows_in"] == len(ten)
    assert acc.loc["patents", "rows_in"] == len(pat)
    assert acc.loc["panel", "rows_kept"] == panel.n_obs
    assert acc["balanced"].all(), acc
    # the panel's rows are exactly the financial rows kept, less those the panel dropped
    assert acc.loc["panel", "rows_in"] == acc.loc["financials", "rows_kept"]
    # patents kept are counted in the panel, unless their firm-year was dropped later
    if acc.loc["panel", "rows_dropped"] == 0:
        assert panel.data["patents"].sum() == acc.loc["patents", "rows_kept"]
