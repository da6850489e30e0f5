"""Real-browser check of the rendered reports: headless Chromium driven over the DevTools protocol.

Opens ``reports/index.html``, the study index and one stage report of the rendered fixture study;
checks there are no console errors or exceptions, no network requests, every image decodes, and the
headline table is there; saves screenshots under ``test-artifacts/``. Skips where Chromium can't start.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from xstilts.paths import repo_root

websocket = pytest.importorskip("websocket")
FIXTURE = Path(__file__).parent / "fixtures" / "study_small"
ARTIFACTS = repo_root() / "test-artifacts"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")


class DevTools:
    """A minimal CDP client: one page target on a flattened session."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, session: bool = False, **params) -> dict:
        msg_id = next(self.ids)
        msg = {"id": msg_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    return self.events.pop(i)
            self.events.append(json.loads(self.ws.recv()))
        raise TimeoutError(f"no {method} within {timeout}s")

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        res = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in res:
            raise RuntimeError(f"JS failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def problems(self) -> list[str]:
        out = []
        for ev in self.events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(
                    f"exception: {p['exceptionDetails'].get('text')} "
                    f"{p['exceptionDetails'].get('exception', {}).get('description', '')}"
                )
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    out.append(f"network request: {url}")
        return out

    def screenshot(self, path: Path) -> None:
        data = self.call(
            "Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except Exception:
            pass
        self.ws.close()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    from xstilts.analysis.report import render_study
    from xstilts.stages import analysis

    tmp = tmp_path_factory.mktemp("browser")
    study = tmp / "runs" / "study_small"
    shutil.copytree(FIXTURE, study)
    analysis.run({"fertility": False}, study, tmp / "reports")
    render_study(study, tmp / "reports")
    return tmp / "reports"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if exe is None:
        pytest.skip("no Chromium on PATH (Debian: apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    args = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "--remote-allow-origins=*",
        "about:blank",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port_file = profile / "DevToolsActivePort"
    end = time.monotonic() + 30
    while not port_file.exists() or len(port_file.read_text().split()) < 2:
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
            pytest.skip(f"Chromium did not start ({exe}): {err.strip() or 'timeout'}")
        time.sleep(0.1)
    port, path = port_file.read_text().split()[:2]
    try:
        tools = DevTools(f"ws://127.0.0.1:{port}{path}")
    except Exception as err:
        proc.kill()
        pytest.skip(f"cannot attach to Chromium DevTools: {err}")
    yield tools
    tools.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


IMAGES_JS = """
Promise.all(Array.from(document.images).map(img =>
  img.decode().then(() => ({id: img.id, w: img.naturalWidth}))
               .catch(e => ({id: img.id, w: 0, error: String(e)}))))
"""


def _check_page(browser: DevTools, page: Path, shot: str, min_images: int) -> list[dict]:
    assert page.is_file(), page
    browser.open(page.resolve().as_uri())
    images = browser.evaluate(IMAGES_JS)
    browser.screenshot(ARTIFACTS / shot)
    assert browser.problems() == []
    assert len(images) >= min_images, images
    assert all(img["w"] > 0 for img in images), images
    return images


def test_root_index_in_browser(browser, rendered):
    images = _check_page(browser, rendered / "index.html", "report_root_index.png", 1)
    assert images[0]["id"] == "heatmap-study_small"
    assert "study_small" in browser.evaluate("document.body.innerText")


def test_study_index_in_browser(browser, rendered):
    images = _check_page(
        browser, rendered / "study_small" / "index.html", "report_study_index.png", 4
    )
    assert "fig-heatmap_delta" in {img["id"] for img in images}
    rows = browser.evaluate("document.querySelectorAll('#headline-table tr').length")
    assert rows == 1 + 4 * 3  # header + 4 intermediates × 3 targets
    headline = browser.evaluate("document.getElementById('headline').innerText")
    assert "points" in headline and "confirmatory family" in headline and "Holm" in headline
    links = browser.evaluate(
        "Array.from(document.querySelectorAll('#stage-reports a')).map(a => a.href)"
    )
    assert len(links) == 2 and all(link.startswith("file:") for link in links)


def test_stage_report_in_browser(browser, rendered):
    page = rendered / "study_small" / "stages" / "target" / "multiemo-baseline-s1.html"
    images = _check_page(browser, page, "report_stage_target.png", 1)
    assert len(images) == 1
    text = browser.evaluate("document.body.innerText")
    assert "rows: 5" in text and "show()" not in text  # outputs shown, inputs hidden
