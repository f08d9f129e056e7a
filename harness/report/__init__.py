"""Scenario reports: report.json, junit.xml and a self-contained report.html."""

from __future__ import annotations

from harness.report.html import render_html
from harness.report.json_report import report_dict
from harness.report.junit import render_junit

__all__ = ["render_html", "render_junit", "report_dict"]
