"""Reproducible analyses: configurations, runs, manifests and verification."""

from parkimpact.analysis.config import AnalysisConfig, load_config
from parkimpact.analysis.runner import RunResult, run_analysis, verify_outputs

__all__ = ["AnalysisConfig", "RunResult", "load_config", "run_analysis", "verify_outputs"]
