"""Reporting: the tidy result protocol, multi-model tables and their renderers.

Every result of parkimpact exposes ``tidy()`` (a frame with the columns of
:data:`TIDY_COLUMNS`) and ``model_info()`` (a :class:`ModelInfo`); inheriting
:class:`ResultBase` adds ``summary()``, ``conf_int(level)`` and an HTML view.
:func:`table` puts several results side by side and :func:`descriptive_table`
formats plain numeric frames; both return a :class:`RegressionTable` that
renders to text, Markdown, HTML and LaTeX (booktabs). :func:`build_report`
turns the files of a finished analysis run into one self-contained HTML page
and its Markdown twin, without refitting anything.
"""

from parkimpact.report.descriptive import descriptive_table
from parkimpact.report.html_report import (
    MissingOutputsError,
    ReportInputError,
    ReportPaths,
    build_report,
    render_report,
)
from parkimpact.report.tables import RegressionTable, table
from parkimpact.report.tidy import (
    TIDY_COLUMNS,
    ModelInfo,
    ResultBase,
    conf_int_from_tidy,
    make_tidy,
    validate_tidy,
    write_tidy_csv,
)

__all__ = [
    "TIDY_COLUMNS",
    "make_tidy",
    "validate_tidy",
    "conf_int_from_tidy",
    "ResultBase",
    "ModelInfo",
    "table",
    "descriptive_table",
    "RegressionTable",
    "write_tidy_csv",
    "build_report",
    "render_report",
    "ReportPaths",
    "ReportInputError",
    "MissingOutputsError",
]
