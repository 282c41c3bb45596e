"""The HTML report in a real headless Chromium: loads offline, charts render, no console error."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from helpers_track import build_store
from textmine.report import write_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--enable-logging=stderr", "--v=0"]


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (apt-get install chromium)")
        pytest.skip("chromium not installed (apt-get install chromium)")
    return exe


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    store = build_store(root / "proj", n_per_wave=8, segs_per_interview=12, n_panel=4, seed=5)
    path = write_report(store, root / "report.html", figures=False)
    store.close()
    return path


def _run(exe: str, tmp_path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=120)


def _console_errors(stderr: str) -> list[str]:
    """Console messages (the report has no script, so any is unexpected) and uncaught errors."""
    return [ln for ln in stderr.splitlines() if "Uncaught" in ln or ":CONSOLE" in ln]


def test_console_error_detection_works(tmp_path):
    exe = _chromium()
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><script>console.error("x"); notDefined();</script></body></html>')
    res = _run(exe, tmp_path, "--dump-dom", bad.as_uri())
    errs = _console_errors(res.stderr)
    assert any("Uncaught" in e for e in errs) and len(errs) >= 2


def test_report_renders_in_chromium(report, tmp_path):
    exe = _chromium()
    res = _run(exe, tmp_path, "--virtual-time-budget=3000", "--dump-dom", report.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    assert "<h1>" in dom and 'id="changes"' in dom
    charts = re.findall(r'<svg class="chart"', dom)
    assert len(charts) >= 6
    assert dom.count("<path") > 50 and "<text" in dom         # the charts have actual marks and labels
    assert not _console_errors(res.stderr), _console_errors(res.stderr)


def test_report_screenshot(report, tmp_path):
    exe = _chromium()
    shot = tmp_path / "report.png"
    res = _run(exe, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000   # a blank page is a few kB
    assert not _console_errors(res.stderr)


def _pdftotext() -> str:
    exe = shutil.which("pdftotext")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext is required in CI (apt-get install poppler-utils)")
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    return exe


def test_extracts_visible_when_printed(report, tmp_path):
    """Printed to PDF, the report keeps its representative extracts (no closed <details>)."""
    import html as H
    exe, pdftotext = _chromium(), _pdftotext()
    pdf = tmp_path / "report.pdf"
    res = _run(exe, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri())
    assert res.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-", res.stderr[-2000:]
    text = subprocess.run([pdftotext, str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = " ".join(text.split())
    page = report.read_text(encoding="utf-8")
    section = page[page.index('<section id="quotes">'):page.index('<section id="method">')]
    extracts = [" ".join(H.unescape(q).split())[:60] for q in re.findall(r"<blockquote>« (.*?) »<span", section)]
    assert len(extracts) >= 10
    missing = [q for q in extracts if q not in flat]
    assert not missing, missing[:3]
