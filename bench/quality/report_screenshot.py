"""Open a run's report.html in headless Chromium, save a screenshot, and check the page is clean.

    python bench/quality/report_screenshot.py RUN_DIR [--out report.png] [--rebuild]
    python bench/quality/report_screenshot.py --fake /tmp/fake-run [--out report.png]  # tests/report_fakerun.py

Needs Debian's `chromium` (apt-get install chromium) and, for Korean text in the page, a CJK font
(`fonts-nanum` or `fonts-noto-cjk`). Builds the report first when it is missing (or with --rebuild). Checks:
  1. the screenshot is written (Chromium exits 0, PNG non-empty);
  2. Chromium's log has no console message at all (the page has no scripts; an unescaped `<script>` would
     show up as a Content-Security-Policy violation, a broken page as "Uncaught ...");
  3. the DOM Chromium built (`--dump-dom`) holds no <script> element and no on* attribute.
Prints the figures and exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import ROOT
from pipeline.report import build_report

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
# Chromium logs every console message as "INFO:CONSOLE" whatever its level; the report has no scripts, so
# any console message at all (an error, a CSP violation from an unescaped <script>) counts as a failure.
CONSOLE_ERROR = re.compile(r":CONSOLE|Uncaught|Content Security Policy|Refused to", re.IGNORECASE)


def chromium(args: list[str], profile: str, timeout: int = 120) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        sys.exit("chromium not found: apt-get install -y chromium")
    cmd = [binary, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", help="run directory (holds summary.json)")
    parser.add_argument("--fake", metavar="DIR", help="build a fake run under DIR and use it")
    parser.add_argument("--out", default="report.png", help="screenshot path (default %(default)s)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild report.html even if it exists")
    parser.add_argument("--window", default="1400,3000", help="window size W,H (default %(default)s)")
    args = parser.parse_args()
    if args.fake:
        sys.path.insert(0, str(ROOT / "tests"))
        from report_fakerun import make_fake_run

        run_dir = make_fake_run(args.fake)
    elif args.run_dir:
        run_dir = Path(args.run_dir)
    else:
        parser.error("give RUN_DIR or --fake DIR")
    html_path = run_dir / "report.html"
    if args.rebuild or args.fake or not html_path.is_file():
        started = time.perf_counter()
        build_report(run_dir)
        print(f"built {html_path} in {time.perf_counter() - started:.2f} s ({html_path.stat().st_size / 1e3:.0f} kB)")
    url = html_path.resolve().as_uri()
    out = Path(args.out).resolve()
    out.unlink(missing_ok=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="report-chromium-") as profile:
        started = time.perf_counter()
        shot = chromium([f"--screenshot={out}", f"--window-size={args.window}", url], profile)
        print(f"screenshot: rc={shot.returncode} {time.perf_counter() - started:.1f} s -> {out}"
              f" ({out.stat().st_size / 1e3:.0f} kB)" if out.exists() else " (not written)")
        if shot.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            failures.append("screenshot not written")
        dom = chromium(["--dump-dom", url], profile)
    console = [ln for ln in (shot.stderr + dom.stderr).splitlines() if CONSOLE_ERROR.search(ln)]
    print(f"console errors: {len(console)}")
    for line in console[:10]:
        print("  ", line[:300])
    if console:
        failures.append("console errors")
    scripts = len(re.findall(r"<script\b", dom.stdout, re.IGNORECASE))
    handlers = len(re.findall(r"<[^>]*\son[a-z]+\s*=", dom.stdout, re.IGNORECASE))
    escaped = dom.stdout.count("&lt;script&gt;alert(1)&lt;/script&gt;")
    print(f"DOM: {len(dom.stdout):,} chars, <script> elements {scripts}, on* attributes {handlers}, "
          f"escaped '<script>alert(1)</script>' shown {escaped} times")
    if dom.returncode != 0 or not dom.stdout:
        failures.append("dump-dom failed")
    if scripts or handlers:
        failures.append("script in DOM")
    print("OK" if not failures else "FAILED: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
