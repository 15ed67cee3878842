"""Shared test configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

#: Reference datasets with published numbers live beside the project, not in it.
REFERENCE_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "reference-data"


def reference_file(name: str) -> Path:
    """Path of a shared reference dataset, or skip the test with the reason."""
    path = REFERENCE_DATA / name
    if not path.is_file():
        pytest.skip(
            f"reference dataset {name} not found at {path}; it ships in shared/reference-data "
            "beside the project checkout"
        )
    return path
