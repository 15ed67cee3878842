"""Command line: ``parkimpact run | simulate | verify | paper | report`` (argument parsing only)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from parkimpact._version import __version__

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``parkimpact`` command."""
    parser = argparse.ArgumentParser(
        prog="parkimpact",
        description="Econometric evaluation of science, technology and innovation parks.",
    )
    parser.add_argument("--version", action="version", version=f"parkimpact {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run an analysis configuration and write its outputs")
    run.add_argument(
        "config",
        nargs="?",
        type=Path,
        default=None,
        help="analysis TOML (default: analyses/hsinchu_style.toml)",
    )
    run.add_argument("--out", type=Path, default=None, help="output folder (default: from config)")
    run.add_argument("--quiet", action="store_true", help="no progress messages")

    sim = sub.add_parser("simulate", help="write simulated raw sources with their known truth")
    sim.add_argument("--out", type=Path, required=True, help="folder for the raw files")
    sim.add_argument("--n-firms", type=int, default=3000)
    sim.add_argument("--first-year", type=int, default=1995)
    sim.add_argument("--last-year", type=int, default=2020)
    sim.add_argument("--seed", type=int, default=0)
    for flag in ("missing", "format-errors", "duplicates", "reporting-noise"):
        sim.add_argument(
            f"--{flag}",
            type=float,
            default=0.0,
            help=f"share of {flag.replace('-', ' ')} in the raw sources (0 = none)",
        )

    ver = sub.add_parser("verify", help="check an output folder's hashes by re-running it")
    ver.add_argument("output_dir", type=Path)

    paper = sub.add_parser(
        "paper",
        help="copy analysis tables and figures into the paper and compile it (never refits)",
        description=(
            "Copy tables/*.tex and figures/*.png of finished analysis output folders into "
            "PAPER_DIR/generated/ and compile PAPER_DIR/main.tex with latexmk (or pdflatex). "
            "No model is refitted. Exit status: 0 done, 1 inputs or TeX failed, "
            "3 TeX not installed (the inputs are copied)."
        ),
    )
    paper.add_argument(
        "--output",
        dest="outputs",
        metavar="OUTPUT_DIR",
        type=Path,
        nargs="+",
        action="extend",
        default=None,
        help="output folder(s) to copy from (default: output/hsinchu_style and "
        "output/replications/*)",
    )
    paper.add_argument(
        "--paper-dir",
        type=Path,
        default=None,
        help="folder holding main.tex (default: paper)",
    )
    paper.add_argument("--no-compile", action="store_true", help="only copy the inputs")

    report = sub.add_parser(
        "report",
        help="write a self-contained HTML report (and Markdown) of an output folder",
        description=(
            "Build OUTPUT_DIR/report/scorecard.html (one self-contained page: inline style, "
            "embedded figures, no external requests) and scorecard.md from the files a run "
            "wrote into OUTPUT_DIR. No model is refitted. Exit status: 0 done, 1 the folder "
            "is missing or its files cannot be read."
        ),
    )
    report.add_argument("output_dir", type=Path, help="an output folder written by 'run'")
    report.add_argument(
        "--out", type=Path, default=None, help="folder for the report (default: OUTPUT_DIR/report)"
    )
    return parser


def _run(args: argparse.Namespace) -> int:
    from parkimpact.analysis import run_analysis

    result = run_analysis(args.config, output_dir=args.out, quiet=args.quiet)
    print(result.summary)
    print(f"\nWrote {len(result.outputs)} files and {result.manifest.name} to {result.output_dir}")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from parkimpact.datasets import simulate_parks

    sim = simulate_parks(
        n_firms=args.n_firms,
        first_year=args.first_year,
        last_year=args.last_year,
        seed=args.seed,
        missing=args.missing,
        format_errors=args.format_errors,
        duplicates=args.duplicates,
        reporting_noise=args.reporting_noise,
    )
    written = sim.write_sources(args.out)
    print(f"Wrote {len(written)} files to {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from parkimpact.analysis import verify_outputs

    problems = verify_outputs(args.output_dir)
    if not problems:
        print(f"verified: every output in {args.output_dir} matches its manifest and re-run")
        return 0
    for m in problems:
        print(f"MISMATCH {m.path}: expected {m.expected}, found {m.found}", file=sys.stderr)
    return 1


#: Exit status of ``parkimpact paper`` when no TeX is installed (the inputs are copied).
NO_TEX_STATUS = 3


def _paper(args: argparse.Namespace) -> int:
    from parkimpact.analysis.paper import PaperError, build_paper

    try:
        build = build_paper(args.outputs, args.paper_dir, compile=not args.no_compile)
    except PaperError as exc:
        print(f"parkimpact paper: {exc}", file=sys.stderr)
        return 1
    status = build.compiled.status
    print(build.summary(), file=sys.stderr if status in ("failed", "no_tex") else sys.stdout)
    return {"failed": 1, "no_tex": NO_TEX_STATUS}.get(status, 0)


def _report(args: argparse.Namespace) -> int:
    from parkimpact.report import ReportInputError, build_report

    try:
        paths = build_report(args.output_dir, out=args.out)
    except ReportInputError as exc:
        print(f"parkimpact report: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote {paths.html} and {paths.markdown}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``parkimpact`` command."""
    args = build_parser().parse_args(argv)
    handlers = {
        "run": _run,
        "simulate": _simulate,
        "verify": _verify,
        "paper": _paper,
        "report": _report,
    }
    return handlers[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
