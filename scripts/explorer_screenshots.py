"""Make the Model Explorer screenshots of docs/model-explorer.md from a real headless Chromium.

The programs are synthesized without torch (tests/fuzz/crafted.py): 211 XNNPACK delegates (a real
Linear payload from the xnn_many_delegates fixture) alternating with a CPU cumsum, and 20,000
CPU kernel calls. Each is opened with ``edgeinspect view``; the page is captured as it opens
(folded) and with layers opened through Model Explorer's own ``uiState`` (the layers to expand
are named in the page address, as a user's bookmark would).

Run: ``python scripts/explorer_screenshots.py [--out docs/_static]`` (needs the explorer and dev extras
and Debian's chromium). Writes explorer_folded.png, explorer_expanded.png, explorer_20000.png.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote, unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
sys.path.insert(0, str(ROOT / "tests" / "explorer"))

#: The graph area of the page (the side panel and the toolbar are left out).
CLIP = {"x": 0, "y": 96, "width": 1000, "height": 560}


def with_expanded(url: str, layers: list[str], select: str | None = None) -> str:
    """``url`` with Model Explorer's initial view expanding ``layers`` (namespaces)."""
    base, _, data = url.partition("?data=")
    doc = json.loads(unquote(data))
    blank = {
        "deepestExpandedGroupNodeIds": [],
        "selectedNodeId": "",
        "selectedGraphId": "forward",
        "selectedCollectionLabel": "",
        "widthFraction": 1,
    }
    pane = doc.setdefault("uiState", {"paneStates": [blank]})["paneStates"][0]
    pane["deepestExpandedGroupNodeIds"] = [f"{ns}___group___" for ns in layers]
    if select:
        pane["selectedNodeId"] = select
    return f"{base}?data={quote(json.dumps(doc))}"


def shoot(browser, url: str, out: Path) -> None:  # noqa: ANN001
    import me_browser

    page, _, errors = me_browser.open_page(browser, width=1400, height=700)
    me_browser.first_render(page, url, errors)
    page.wait_for_timeout(1500)  # labels and overlay bars settle after the layout
    page.screenshot(path=str(out), clip=CLIP)
    if errors:
        raise RuntimeError(f"page errors: {errors}")
    page.close()
    print(f"{out} ({out.stat().st_size:,} bytes)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "_static")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    import me_browser
    from crafted import chain_pte, repeated_delegates_pte
    from playwright.sync_api import sync_playwright

    import edgeinspect
    from edgeinspect.commands.view import free_port

    with tempfile.TemporaryDirectory() as tmp:
        with edgeinspect.load(ROOT / "tests" / "data" / "xnn_many_delegates.pte") as program:
            payload = bytes(program.method().delegates[0].payload())
        delegates = Path(tmp) / "delegates_210.pte"
        delegates.write_bytes(repeated_delegates_pte(210, payload=payload))
        chain = Path(tmp) / "chain_20000.pte"
        chain.write_bytes(chain_pte(20_000))
        with sync_playwright() as p:
            browser = me_browser.launch(p)
            try:
                proc, url, _ = me_browser.start_view(delegates, port=free_port())
                try:
                    fold = "XNNPACK -> CPU(cumsum) x 210"
                    shoot(browser, url, args.out / "explorer_folded.png")
                    first = f"{fold}/XnnpackBackend_0 .. CPU_island_49"
                    repeat = f"{first}/XnnpackBackend_1 .. CPU_island_1"
                    shoot(
                        browser,
                        with_expanded(url, [repeat], select=f"{repeat}/CPU_island_1___group___"),
                        args.out / "explorer_expanded.png",
                    )
                finally:
                    me_browser.stop(proc)
                proc, url, _ = me_browser.start_view(chain, port=free_port())
                try:
                    block = "CPU/#0-2499 sin, cos/#50-99 sin, cos"
                    shoot(browser, with_expanded(url, [block], select=f"{block}___group___"), args.out / "explorer_20000.png")
                finally:
                    me_browser.stop(proc)
            finally:
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
