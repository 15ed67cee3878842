"""Replications of published tables as an analysis kind (``[analysis] kind = "replication"``).

Each case recomputes a published table with the public estimators of
parkimpact and writes, row by row, the published value, the computed value,
their difference and the tolerance (with the reason for it and the source of
the number):

- ``mpdta`` -- Callaway and Sant'Anna (2021), R ``did`` on county teen employment;
- ``jtrain`` -- Wooldridge's JTRAIN: firm fixed effects (Example 14.1) and the
  1987-88 first difference;
- ``ezunem`` -- Papke (1994) enterprise zones, first differences (Example 13.8);
- ``nsw`` -- NSW/LaLonde: the experimental benchmark against matching, IPW and
  AIPW on the PSID-1 and CPS-1 comparison groups;
- ``prodest_chile`` -- the Chilean plant panel of R ``prodest`` (OP, LP, ACF,
  Wooldridge IV).

Datasets that are not part of the project (``mpdta.csv``,
``chilean_prodest.csv``) are read from the shared reference folder beside it
(:func:`reference_data_dir`); the public ones come through
:func:`parkimpact.datasets.load` (the ``data`` extra).
"""

from parkimpact.analysis.replications._common import (
    COLUMNS,
    REFERENCE_ENV,
    CaseResult,
    Published,
    Tolerance,
    reference_data_dir,
)
from parkimpact.analysis.replications.kind import CASES, replicate, run_replication

__all__ = [
    "CASES",
    "COLUMNS",
    "REFERENCE_ENV",
    "CaseResult",
    "Published",
    "Tolerance",
    "reference_data_dir",
    "replicate",
    "run_replication",
]
