"""Park spells: exits, moves between parks, returns, treatment paths and register dates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from parkimpact.datasets import _parks_config as cfg
from parkimpact.datasets._parks_config import ParkSettings
from parkimpact.datasets._parks_firms import Firms, choose_park

__all__ = [
    "Spells",
    "draw_spells",
    "treatment_paths",
    "park_of_year",
    "tenancy_table",
    "iso_dates",
    "days_in_year",
]


@dataclass(frozen=True)
class Spells:
    """At most two park spells per firm; years are ``-1`` where a spell or its end is absent.

    Spell 1 runs from ``entry`` to ``out1`` (open when ``-1``) in ``park1``;
    spell 2 (a move or a return) starts in ``in2`` in ``park2`` and stays open.
    A firm is in a park in every year from a spell's start to its end, both
    included; a move takes effect in its year (the new park counts).
    """

    entry: np.ndarray
    park1: np.ndarray
    out1: np.ndarray
    in2: np.ndarray
    park2: np.ndarray
    moved: np.ndarray
    returned: np.ndarray

    @property
    def exit_year(self) -> np.ndarray:
        """End of the first continuous tenancy as float (NaN while it continues)."""
        ended = (self.out1 >= 0) & ~self.moved
        return np.where(ended, self.out1, np.nan).astype("float64")


def draw_spells(
    rng: np.random.Generator,
    firms: Firms,
    entry: np.ndarray,
    park: np.ndarray,
    last_obs: np.ndarray,
    settings: ParkSettings,
) -> Spells:
    r"""Exits, moves and returns of tenants.

    Each tenant draws one of: leave the park (probability 0.08), move to
    another open park (0.05), stay (otherwise), after a spell of
    2 to 8 years (uniform). A leaver must leave in or after ``first_year`` and
    be observed at least one year after leaving; a quarter of leavers come
    back to the same park 2 to 5 years later if still observed. A mover's new
    park is drawn among the other open parks by attraction weights; the second
    spell starts in the year the first ends. Firms that die in a park keep an
    open spell (the register records moves, not deaths).
    """
    n = firms.n
    kind = rng.random(n)
    duration = rng.integers(cfg.SPELL_YEARS[0], cfg.SPELL_YEARS[1], size=n)
    back = rng.random(n)
    gap = rng.integers(cfg.RETURN_GAP[0], cfg.RETURN_GAP[1], size=n)
    park_draw = rng.random(n)
    tenant = entry >= 0
    change = entry + duration
    leaves = (
        tenant & (kind < cfg.EXIT_SHARE) & (change >= settings.first_year) & (change < last_obs)
    )
    target = choose_park(firms.industry, change, park_draw, exclude=park)
    moves = (
        tenant
        & (kind >= cfg.EXIT_SHARE)
        & (kind < cfg.EXIT_SHARE + cfg.MOVE_SHARE)
        & (change <= last_obs)
        & (target >= 0)
    )
    returns = leaves & (back < cfg.RETURN_SHARE) & (change + gap <= last_obs)
    return Spells(
        entry=entry,
        park1=park,
        out1=np.where(leaves | moves, change, -1),
        in2=np.where(moves, change, np.where(returns, change + gap, -1)),
        park2=np.where(moves, target, np.where(returns, park, -1)),
        moved=moves,
        returned=returns,
    )


def treatment_paths(
    spells: Spells, years: np.ndarray, firm_multiplier: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """In-park indicator and park-effect multiplier, (years x firms) matrices.

    The multiplier is ``firm_multiplier * PARK_EFFECT[park in year t]`` in park
    years and 0 otherwise.
    """
    t = years[:, None]
    in1 = (spells.entry >= 0) & (t >= spells.entry) & ((spells.out1 < 0) | (t <= spells.out1))
    in2 = (spells.in2 >= 0) & (t >= spells.in2)
    in_park = in1 | in2
    park_now = np.where(in2, spells.park2, np.where(in1, spells.park1, 0))
    multiplier = np.where(in_park, cfg.PARK_EFFECT[park_now] * firm_multiplier, 0.0)
    return in_park.astype("float64"), multiplier


def park_of_year(spells: Spells, years: np.ndarray) -> np.ndarray:
    """Index of the park a firm is in each year, ``-1`` outside parks, (years x firms)."""
    t = years[:, None]
    in1 = (spells.entry >= 0) & (t >= spells.entry) & ((spells.out1 < 0) | (t <= spells.out1))
    in2 = (spells.in2 >= 0) & (t >= spells.in2)
    return np.where(in2, spells.park2, np.where(in1, spells.park1, -1))


def days_in_year(year: np.ndarray) -> np.ndarray:
    """365 or 366."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return 365 + leap.astype("int64")


def iso_dates(year: np.ndarray, day: np.ndarray) -> np.ndarray:
    """ISO ``YYYY-MM-DD`` strings of day ``day`` (0-based) of ``year``."""
    start = (np.asarray(year, dtype="int64") - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    return np.datetime_as_string(start + np.asarray(day, dtype="int64"), unit="D")


def tenancy_table(
    rng: np.random.Generator, firms: Firms, spells: Spells
) -> pd.DataFrame:
    """The park register: one row per spell, ISO dates, ``move_out`` missing while open.

    Entry days are uniform within the year. A move ends the first spell on a
    day of its year and starts the second the next day.
    """
    u = rng.random((4, firms.n))
    has1 = spells.entry >= 0
    has2 = spells.in2 >= 0
    entry_year = np.where(has1, spells.entry, 2000)
    out_year = np.where(spells.out1 >= 0, spells.out1, 2000)
    in2_year = np.where(has2, spells.in2, 2000)
    out_day = np.floor(u[1] * (days_in_year(out_year) - 1)).astype("int64")
    in2_day = np.where(
        spells.moved, out_day + 1, np.floor(u[2] * days_in_year(in2_year)).astype("int64")
    )
    move_in1 = iso_dates(entry_year, np.floor(u[0] * days_in_year(entry_year)))
    move_out1 = np.where(spells.out1 >= 0, iso_dates(out_year, out_day), None)
    first = pd.DataFrame(
        {
            "company_id": firms.firm_id[has1],
            "park_name": np.asarray(cfg.PARKS)[spells.park1[has1]],
            "move_in": move_in1[has1],
            "move_out": move_out1[has1],
        }
    )
    second = pd.DataFrame(
        {
            "company_id": firms.firm_id[has2],
            "park_name": np.asarray(cfg.PARKS)[spells.park2[has2]],
            "move_in": iso_dates(in2_year, in2_day)[has2],
            "move_out": np.full(int(has2.sum()), None, dtype=object),
        }
    )
    table = pd.concat([first, second], ignore_index=True)
    table = table.sort_values(["company_id", "move_in"], kind="stable").reset_index(drop=True)
    return table.astype({"park_name": "str", "move_in": "str", "move_out": "str"})
