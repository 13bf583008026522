"""Upload -> every page settled, in a real browser: ``streamlit run app.py`` (fresh, free localhost
port) driven by headless Debian Chromium through Playwright (``executable_path=/usr/bin/chromium``;
never ``playwright install``).

One tab uploads a new photo on Home, then opens every page of the navigation in turn. Each page is
timed from the click on its navigation link until it has settled: the script run is over
(``stApp``'s script state back to ``notRunning``, read from a state log kept in the tab), two
animation frames later, and the page shows at least one figure (plotly chart, image or the
explorer). The first visit after an upload pays for that page's models (analyses are cached per
(backbone, image)); a second round of visits shows the warm cost. The browser's own CPU seconds and
the server's (``/proc``) are printed per round, and the bytes the server sent per visit.

Run: ``python bench/browser_pages.py [--rounds 2] [--root DIR]``. The server runs with
OMP_NUM_THREADS=1 like the other browser benchmarks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from common import ROOT, SERVER_ENV, SLOW, machine_line

from harness.browser import CHROMIUM, chromium, log_script_states, photo_png, received_bytes
from harness.procs import client_cpu, cpu_seconds
from harness.server import serve_app

# resolves once a run that started after t0 is over, the main area shows a figure and no run has
# started for 400 ms (a page may rerun once, e.g. a component reporting its state), then two frames
_SETTLED = """async (t0) => {
    const figure = () => document.querySelector(
        '[data-testid="stMain"] .js-plotly-plot, [data-testid="stMain"] [data-testid="stImage"], '
        + '[data-testid="stMain"] [data-testid="stFullScreenFrame"] img, '
        + '[data-testid="stMain"] canvas')
        // the query grid draws in its shadow root, out of querySelector's reach: its probe
        || Object.values(window.__vaeQueryGrid || {}).some((g) => g.draws > 0);
    const app = document.querySelector('[data-testid="stApp"]');
    let end = null;
    for (;;) {
        const s = window.__vaeStates.filter(([t]) => t >= t0);
        const started = s.some(([, st]) => st === 'running');
        const idle = app.getAttribute('data-test-script-state') === 'notRunning';
        if (started && idle && figure()) {
            const last = s[s.length - 1][0];
            if (performance.now() - last >= 400) { end = last; break; }
        }
        if (performance.now() - t0 > 300000) return null;
        await new Promise(res => setTimeout(res, 10));
    }
    await new Promise(res => requestAnimationFrame(() => requestAnimationFrame(res)));
    return [end - t0, performance.now() - t0];
}"""


def _pages() -> list[str]:
    """The navigation's page titles, read from the app's own definition (no Streamlit run)."""
    import ast

    tree = ast.parse((ROOT / "viz" / "ui" / "app.py").read_text())
    titles = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page":
            for kw in node.keywords:
                if kw.arg == "title" and isinstance(kw.value, ast.Constant):
                    titles.append(kw.value.value)
    return titles


def _summary(xs: list[float]) -> str:
    return f"median {statistics.median(xs):.2f} s, max {max(xs):.2f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2, help="rounds of visits after the upload")
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout to serve (default: this one)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM}")
        return 1
    titles = _pages()
    print("# upload -> every page settled (headless Chromium, one tab)")
    print(machine_line() + " | server OMP_NUM_THREADS=1")
    tmp = ROOT / "artifacts" / "bench_browser"
    tmp.mkdir(parents=True, exist_ok=True)
    with serve_app(root=args.root, env=SERVER_ENV) as server, chromium() as browser:
        page = browser.new_context(viewport={"width": 1500, "height": 1000}).new_page()
        received = received_bytes(page)
        page.goto(f"{server.url}/")
        page.get_by_test_id("stSidebarNav").wait_for(timeout=SLOW)
        log_script_states(page)
        page.evaluate(_SETTLED, 0)
        photo = tmp / "pages.png"
        photo.write_bytes(photo_png(7, (480, 320), noise=30))
        t0 = page.evaluate("() => performance.now()")
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(photo))
        page.get_by_text(f"upload: {photo.name}").first.wait_for(timeout=SLOW)
        run_ms, _ = page.evaluate(_SETTLED, t0)
        print(f"upload on Home -> settled: {run_ms / 1000:.2f} s")
        nav = page.get_by_test_id("stSidebarNav")
        for r in range(args.rounds):
            label = "first visits after the upload" if r == 0 else f"visit round {r + 1}"
            cpu0, ccpu0, times = cpu_seconds(server.pid), client_cpu([server.pid]), []
            for title in titles:
                n0 = sum(received)
                t0 = page.evaluate("() => performance.now()")
                nav.get_by_text(title, exact=True).click()
                result = page.evaluate(_SETTLED, t0)
                if result is None:
                    print(f"  {title}: did not settle")
                    continue
                secs = result[1] / 1000
                times.append(secs)
                print(f"  {title:28s} {secs:6.2f} s  ({(sum(received) - n0) / 1024:.0f} KB sent)")
                if r == 0:
                    page.screenshot(path=str(tmp / f"page_{len(times)}.png"))
            print(
                f"{label}: {_summary(times)} over {len(times)} pages; server CPU "
                f"{cpu_seconds(server.pid) - cpu0:.2f} s, "
                f"browser CPU {client_cpu([server.pid]) - ccpu0:.2f} s"
            )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    raise SystemExit(main())
