"""The HTML report in a real browser: it renders, prints, and makes no network request.

Three layers of checks:

1. statically (no browser needed): every tag and attribute of the page is parsed
   and no ``src``, ``href``, ``srcset``, ``poster``, ``data``, ``action`` or
   CSS ``url()`` may load anything but a ``data:`` image or an in-page anchor;
   no ``<script>``, ``<link>``, ``<iframe>``, ``<object>``, ``<embed>``,
   ``<base>`` or meta refresh;
2. headless Chromium dumps the DOM after loading (``--dump-dom``): the sections
   and figures are there, and the NetLog Chromium writes (``--log-net-log``)
   holds no request initiated by the page. A canary page with one external
   image proves the NetLog check would see such a request. Host resolution is
   mapped to nowhere, so no request can leave the machine in any case;
3. headless Chromium takes a 1280 x 2000 screenshot and prints the page to PDF.

The screenshot is copied to ``$PARKIMPACT_ARTIFACTS/report_screenshot.png``
when that environment variable names a folder (CI keeps it as an artefact).
The Chromium tests are skipped when no ``chromium`` is installed.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest

from parkimpact.report import build_report

HERE = Path(__file__).resolve().parent
#: Page-loading attributes that must not point outside the page.
LOADING_ATTRIBUTES = frozenset(
    {"src", "href", "srcset", "poster", "data", "action", "formaction", "background"}
)
FORBIDDEN_TAGS = frozenset({"script", "link", "iframe", "object", "embed", "base", "frame"})
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
TIMEOUT = 120


def _fixtures() -> ModuleType:
    """The fake-output writer shared with ``test_html_report.py``."""
    spec = importlib.util.spec_from_file_location("_report_fixtures", HERE / "test_html_report.py")
    if spec is None or spec.loader is None:  # pragma: no cover
        raise ImportError("cannot load tests/report/test_html_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None."""
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = _fixtures().write_fake_outputs(tmp_path_factory.mktemp("browser") / "fake_run")
    return build_report(root).html


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "chromium is not installed (looked for /usr/bin/chromium and chromium on PATH); "
            "install it with 'apt-get install chromium' to run the browser checks"
        )
    return path


def run_chromium(
    chromium: str, page: Path, profile: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium on a local page with a fresh profile."""
    command = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"chromium exited with {result.returncode}: {' '.join(command)}\n{result.stderr[-2000:]}"
        )
    return result


# ---------------------------------------------------------------------------
# static check
# ---------------------------------------------------------------------------


class _Loads(HTMLParser):
    """Collects tags and the attribute values that could make the page load something."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.targets: list[tuple[str, str, str]] = []
        self.refresh = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = {name.lower(): value or "" for name, value in attrs}
        for name, value in values.items():
            if name in LOADING_ATTRIBUTES:
                self.targets.append((tag, name, value.strip()))
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.refresh = True


def _allowed(tag: str, value: str) -> bool:
    if value.startswith("data:image/png;base64,") and tag == "img":
        return True
    return value.startswith("#") and tag == "a"


def test_page_loads_nothing_from_outside(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    parser = _Loads()
    parser.feed(page)
    assert not FORBIDDEN_TAGS & set(parser.tags)
    assert not parser.refresh
    assert parser.targets, "the page should have figures and contents links"
    bad = [t for t in parser.targets if not _allowed(t[0], t[2])]
    assert not bad, f"attributes that would load something: {bad[:3]}"
    style = "\n".join(re.findall(r"<style>(.*?)</style>", page, flags=re.S))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    # Links may appear in text (escaped CSV cells) but never as markup that loads.
    assert "src=http://example.org" in html.unescape(page)


# ---------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------


def _netlog_events(path: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """(event type, params) of a Chromium NetLog file, tolerating an unterminated file."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    try:
        log, _ = json.JSONDecoder().raw_decode(raw)
    except json.JSONDecodeError:
        log = json.loads(raw.rstrip().rstrip(",") + "]}")
    names = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    for event in log.get("events", []):
        yield names.get(event.get("type"), ""), event.get("params", {})


def page_requests(netlog: Path) -> list[str]:
    """URLs the page itself asked for (the browser's own background requests are left out)."""
    urls = []
    for kind, params in _netlog_events(netlog):
        if kind != "URL_REQUEST_START_JOB" or "url" not in params:
            continue
        from_page = params.get("initiator") != "not an origin" or "file://" in str(
            params.get("network_isolation_key", "")
        )
        if from_page and not str(params["url"]).startswith(("file:", "data:")):
            urls.append(str(params["url"]))
    return urls


def test_netlog_check_sees_an_external_request(chromium: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary.html"
    canary.write_text(
        '<!DOCTYPE html><p>canary</p><img src="http://canary.invalid/pixel.png" alt="c">',
        encoding="utf-8",
    )
    netlog = tmp_path / "netlog.json"
    run_chromium(chromium, canary, tmp_path / "profile", f"--log-net-log={netlog}", "--dump-dom")
    assert "http://canary.invalid/pixel.png" in page_requests(netlog)


def test_dom_has_sections_and_page_makes_no_request(
    chromium: str, report: Path, tmp_path: Path
) -> None:
    netlog = tmp_path / "netlog.json"
    result = run_chromium(
        chromium, report, tmp_path / "profile", f"--log-net-log={netlog}", "--dump-dom"
    )
    dom = result.stdout
    for anchor in ("summary", "kpis", "survival", "event-studies", "data-quality", "methods"):
        assert f'<section id="{anchor}"' in dom
    assert dom.count("<img ") == 5
    assert "Key performance indicators by park" in dom
    assert "<script" not in dom  # the hostile CSV text stayed text
    assert page_requests(netlog) == []


def test_screenshot_and_print(chromium: str, report: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "report.png"
    run_chromium(
        chromium,
        report,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,2000",
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
    with Image.open(shot) as image:
        assert image.size == (1280, 2000)
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50, "the screenshot looks blank"
    artefacts = os.environ.get("PARKIMPACT_ARTIFACTS")
    if artefacts:
        Path(artefacts).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(artefacts) / "report_screenshot.png")
    pdf = tmp_path / "report.pdf"
    run_chromium(
        chromium,
        report,
        tmp_path / "profile-print",
        f"--print-to-pdf={pdf}",
        "--no-pdf-header-footer",
    )
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page") > 2
