#!/usr/bin/env python3
"""Renders an exported report.html in headless Chromium and checks it looks
right: the charts are in the HTML, nothing is fetched from outside, and the
screenshot is neither blank nor missing the charts' colours.

Usage: check_report.py REPORT_HTML CHROMIUM OUT_PNG
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_pixels import read_png_rgb  # noqa: E402


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


html_path, chromium, out_png = sys.argv[1], sys.argv[2], sys.argv[3]
html = open(html_path, encoding="utf-8").read()

charts = ["chart-loss", "chart-accuracy", "chart-sparsity-layers", "chart-accuracy-sparsity",
          "chart-cost"]
for chart in charts:
    m = re.search(r'<svg id="%s".*?</svg>' % chart, html, re.S)
    if not m:
        fail(f"no <svg id=\"{chart}\"> in {html_path}")
    if not re.search(r"<(polyline|rect class=\"(hbar|segment)\"|circle)", m.group(0)):
        fail(f"{chart} draws nothing")
loss = re.search(r'<svg id="chart-loss".*?</svg>', html, re.S).group(0)
for stage in ["teacher", "distill", "prune"]:
    if f">{stage}</text>" not in loss:
        fail(f"the loss chart does not mark where stage {stage} starts")
# Self-contained: no scripts, style sheets, images or fonts from elsewhere.
for pattern in [r"<script", r"<link", r"<img", r"\bsrc=", r"url\(", r"@import"]:
    if re.search(pattern, html, re.I):
        fail(f"report.html is not self-contained: found {pattern}")
urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
if urls - {"http://www.w3.org/2000/svg"}:
    fail(f"report.html names external URLs: {sorted(urls)}")

width, height = 1400, 1400
with tempfile.TemporaryDirectory() as profile:  # own profile: no clash with other Chromiums
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--no-first-run", f"--user-data-dir={profile}", f"--window-size={width},{height}",
           f"--screenshot={os.path.abspath(out_png)}", "file://" + os.path.abspath(html_path)]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except FileNotFoundError:
        fail(f"'{chromium}' not found: install the Debian package chromium "
             "(scripts/install-deps.sh does)")
if run.returncode != 0 or not os.path.isfile(out_png):
    fail(f"chromium failed ({run.returncode}): {run.stderr[-2000:]}")

img = read_png_rgb(out_png)
if img.shape[:2] != (height, width):
    fail(f"screenshot is {img.shape[1]}x{img.shape[0]}, asked for {width}x{height}")
flat = img.reshape(-1, 3).astype(np.int64)
colours = len(np.unique(flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]))
not_white = float((flat.min(axis=1) < 235).mean())
if colours < 100 or not_white < 0.05:
    fail(f"screenshot looks blank: {colours} colours, {not_white:.1%} non-white pixels")
# Each stage's colour (report/report_charts.cpp) must show up: the charts drew.
for name, rgb, least in [("teacher purple", (0x8e, 0x5b, 0xd6), 300),
                         ("distill blue", (0x2e, 0x7d, 0xd7), 1000),
                         ("prune orange", (0xe8, 0x62, 0x3a), 100)]:
    count = int((np.abs(flat - np.array(rgb)).max(axis=1) <= 8).sum())
    if count < least:
        fail(f"screenshot has {count} pixels of the {name}, expected at least {least}")
print(f"ok: {len(charts)} charts, screenshot {width}x{height} with {colours} colours, "
      f"{not_white:.0%} non-white ({out_png})")
