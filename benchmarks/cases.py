"""The benchmark cases, registered in the order the harness runs and reports them.

Add a case by writing a module like :mod:`cases_did` (seeded data, a
:class:`harness.Case` with its sides and goal, ``register(...)``) and importing
it here.
"""

from __future__ import annotations

import cases_did  # noqa: F401
import cases_matching  # noqa: F401
import cases_tfp  # noqa: F401
from harness import REGISTRY

__all__ = ["REGISTRY"]
