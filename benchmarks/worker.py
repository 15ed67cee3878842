"""One measurement in a fresh process: ``python benchmarks/worker.py SPEC_JSON OUT_JSON``.

Started by :func:`harness.measure`; not meant to be run by hand. SPEC_JSON names
the case, the side, the data parameters and the options; the record is written
to OUT_JSON (stdout is left to the measured code).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import cases  # noqa: F401  (registers the cases)
from harness import work


def main() -> None:
    spec = json.loads(sys.argv[1])
    record = work(spec)
    Path(sys.argv[2]).write_text(json.dumps(record), encoding="utf-8")


if __name__ == "__main__":
    main()
