"""report.html renders in headless Chromium and shows the timeline (Chromium from Debian's package)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.report import render_html, report_dict
from tests.scenarios.test_matchers_and_reports import results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make install adds Debian's chromium)")
def test_report_renders_in_chromium(tmp_path: Path) -> None:
    items = results()
    page = tmp_path / "report.html"
    page.write_text(render_html(items, report_dict(items, target="moto", versions={}, started=1000.0, duration_s=2.0)))
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert dom.stdout.count('<svg class="timeline"') == 2
    assert "Scenario report" in dom.stdout and 'class="cold"' in dom.stdout
    # the IAM and cost sections: the denial named, the unused grant, the estimate per 1,000 runs
    assert '<table class="iam-denied">' in dom.stdout and "dynamodb:PutItem" in dom.stdout
    assert "grants unused" in dom.stdout and '<table class="cost-lines">' in dom.stdout
    assert "per 1,000 runs" in dom.stdout
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1000,800", page.as_uri()],
                   capture_output=True, timeout=90, check=True)
    assert shot.stat().st_size > 5000
