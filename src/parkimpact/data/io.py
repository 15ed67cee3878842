"""Reading source tables by file extension and applying a column mapping."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from parkimpact.data.validation import require_columns
from parkimpact.errors import DataFormatError

__all__ = ["read_table", "ColumnMapping", "load_mapping", "apply_mapping", "READERS"]


def _require_extra(module: str, path: Path) -> None:
    try:
        __import__(module)
    except ModuleNotFoundError as exc:
        raise ImportError(
            f"reading {path.name} needs the optional 'io' extra; got {exc}. "
            "Install it with: pip install 'parkimpact[io]'."
        ) from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    _require_extra("pyarrow", path)
    return pd.read_parquet(path)


def _read_excel(path: Path) -> pd.DataFrame:
    _require_extra("openpyxl", path)
    return pd.read_excel(path)


def _read_csv(path: Path) -> pd.DataFrame:
    # Empty fields are missing; nothing else is guessed, so "n/a" stays text and
    # is caught by the numeric checks with its row count.
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def _read_stata(path: Path) -> pd.DataFrame:
    return pd.read_stata(path, convert_categoricals=False)


#: File extension -> reader.
READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    ".csv": _read_csv,
    ".txt": _read_csv,
    ".parquet": _read_parquet,
    ".pq": _read_parquet,
    ".dta": _read_stata,
    ".xlsx": _read_excel,
    ".xls": _read_excel,
}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV, Parquet, Stata ``.dta`` or Excel file, chosen by its extension.

    CSV cells that are empty are missing; any other text is kept as text so that
    the numeric checks of :func:`parkimpact.data.build_panel` can report it.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataFormatError(
            f"path must end in one of {', '.join(sorted(READERS))}; got {path.name!r}. "
            "Convert the file to CSV, Parquet, Stata or Excel, or read it yourself and pass "
            "a DataFrame."
        )
    if not path.is_file():
        raise FileNotFoundError(f"path must name an existing file; got {str(path)!r}.")
    return reader(path)


_SECTIONS = ("files", "financials", "tenancy", "patents", "deflators", "deflate", "options")
_OPTIONS = ("index_base", "rd_depreciation", "rd_growth")


@dataclass(frozen=True)
class ColumnMapping:
    """Source-to-canonical column names, plus file names and deflation settings.

    A section maps canonical names to source names (``output = "sales"``).
    ``files`` names the source files relative to ``base_dir``; ``deflate`` maps a
    money variable to the price-index column that deflates it; ``options`` holds
    ``index_base`` (default 100), ``rd_depreciation`` and ``rd_growth``.
    """

    files: Mapping[str, str] = field(default_factory=dict)
    financials: Mapping[str, str] = field(default_factory=dict)
    tenancy: Mapping[str, str] = field(default_factory=dict)
    patents: Mapping[str, str] = field(default_factory=dict)
    deflators: Mapping[str, str] = field(default_factory=dict)
    deflate: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None

    def path(self, source: str) -> Path | None:
        """Path of a source file named in ``[files]``, or None."""
        name = self.files.get(source)
        if name is None:
            return None
        p = Path(name)
        return p if p.is_absolute() or self.base_dir is None else self.base_dir / p


def load_mapping(mapping: ColumnMapping | Mapping[str, Any] | str | Path | None) -> ColumnMapping:
    """Build a :class:`ColumnMapping` from a dict, a TOML file or an existing mapping."""
    if mapping is None:
        return ColumnMapping()
    if isinstance(mapping, ColumnMapping):
        return mapping
    base_dir = None
    if isinstance(mapping, str | Path):
        path = Path(mapping)
        if path.suffix.lower() != ".toml":
            raise DataFormatError(
                f"mapping must be a dict or a .toml file; got {path.name!r}. "
                "Write the mapping as TOML sections such as [financials]."
            )
        with path.open("rb") as fh:
            mapping = tomllib.load(fh)
        base_dir = path.resolve().parent
    unknown = [k for k in mapping if k not in _SECTIONS]
    if unknown:
        raise ValueError(
            f"mapping sections must be among {_SECTIONS}; got {unknown}. Check the spelling."
        )
    bad_opts = [k for k in mapping.get("options", {}) if k not in _OPTIONS]
    if bad_opts:
        raise ValueError(f"mapping [options] keys must be among {_OPTIONS}; got {bad_opts}.")
    sections = {k: dict(mapping.get(k, {})) for k in _SECTIONS}
    for name, section in sections.items():
        if name == "options":
            continue
        for key, value in section.items():
            if not isinstance(value, str):
                raise TypeError(
                    f"mapping [{name}] {key} must be a column name (text); got {value!r}."
                )
    return ColumnMapping(**sections, base_dir=base_dir)


def apply_mapping(
    frame: pd.DataFrame, section: Mapping[str, str], what: str, *, keep_unmapped: bool = False
) -> pd.DataFrame:
    """Select and rename the mapped columns (canonical = source) of ``frame``.

    An empty section means the frame already uses canonical names; it is returned
    unchanged (as a copy). With ``keep_unmapped`` the other columns are kept under
    their own names (the price-index columns of a deflator table).
    """
    if not section:
        return frame.copy()
    missing = [src for src in section.values() if src not in frame.columns]
    if missing:
        pairs = ", ".join(f"{k} = {v!r}" for k, v in section.items() if v in missing)
        try:
            require_columns(frame, missing, what)
        except DataFormatError as exc:
            raise DataFormatError(
                f"mapping [{what}] {pairs} names a missing column: {exc}"
            ) from None
    if keep_unmapped:
        clash = [c for c in frame.columns if c in section and section[c] != c]
        if clash:
            raise DataFormatError(
                f"mapping [{what}] must not rename a column onto an existing one; got {clash}. "
                "Rename the source columns first."
            )
        return frame.rename(columns={v: k for k, v in section.items()})
    renamed = frame[list(section.values())].copy()
    renamed.columns = list(section.keys())
    return renamed
