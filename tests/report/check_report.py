#!/usr/bin/env python3
"""tests/report/check_report.py: open servesim report pages in headless Chromium and check them.

For every page given: load it from file:// with the network unreachable, wait until the page
script says every chart has settled (window.servesimReport.done), then fail if
  - anything was logged to the console as an error or a warning, or an exception escaped,
  - the page requested anything but itself (it must open offline),
  - a chart failed or drew no marks (its own marks: axes, legends and titles do not count),
  - the page has fewer charts than --min-charts.
A full-page screenshot is saved next to each page (PAGE.png) or in --screenshots DIR; with
--each-chart, every chart is also saved on its own (PAGE-sNcM.png), to look at closely;
--clip Y:H keeps H CSS pixels of the page from Y down (the pictures in docs/).

Chromium is driven over the DevTools protocol on a pipe (--remote-debugging-pipe: JSON messages
separated by NUL bytes on fds 3 and 4), so Python's standard library and Debian's `chromium`
package are all it needs.

usage: check_report.py [--chromium PATH] [--screenshots DIR] [--each-chart] [--clip Y:H]
                       [--min-charts N] PAGE.html...
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--force-color-profile=srgb",
    # no network at all: a page that tries to fetch something fails loudly
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
]


class Browser:
    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix="servesim-chromium-")
        to_r, self.to_w = os.pipe()      # we write commands, Chromium reads fd 3
        self.from_r, from_w = os.pipe()  # Chromium writes fd 4, we read

        def child_fds():
            # move both ends above 4 first so that dup2 cannot clobber one with the other
            a = os.dup(to_r) if to_r < 10 else to_r
            b = os.dup(from_w) if from_w < 10 else from_w
            a2, b2 = os.dup2(a, 100), os.dup2(b, 101)
            os.dup2(a2, 3)
            os.dup2(b2, 4)

        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(
            [exe] + FLAGS + ["--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                             "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            preexec_fn=child_fds, close_fds=False)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.time() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium exited (log: %s)" %
                                   os.path.join(self.profile, "chromium.log"))
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        mid = self.next_id
        m = {"id": mid, "method": method, "params": params or {}}
        if session:
            m["sessionId"] = session
        os.write(self.to_w, json.dumps(m).encode() + b"\0")
        deadline = time.time() + timeout
        while True:
            r = self._read_message(deadline)
            if r.get("id") == mid:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"]))
                return r.get("result", {})
            self.events.append(r)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def console_problems(events, page_url):
    """Every console error/warning, escaped exception, failed load or outside request."""
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append("console.%s: %s" % (p["type"], args))
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: %s %s" % (d.get("text", ""),
                                             d.get("exception", {}).get("description", "")))
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") in ("error", "warning"):
            en = p["entry"]
            out.append("log %s (%s): %s %s" % (en["level"], en.get("source"), en.get("text"),
                                                en.get("url", "")))
        elif m == "Network.requestWillBeSent":
            url = p.get("request", {}).get("url", "")
            if url != page_url and not url.startswith("data:") and not url.startswith("blob:"):
                out.append("network request: %s" % url)
        elif m == "Network.loadingFailed":
            out.append("load failed: %s" % p.get("errorText"))
    return out


def chart_shots(br, sid, shot):
    """Each chart's figure element as its own PNG (the page is laid out at full height)."""
    r = br.send("Runtime.evaluate", {"expression": """JSON.stringify(
        Array.from(document.querySelectorAll('figure.chart .vis')).map(function (v) {
          var b = v.parentNode.getBoundingClientRect();
          return {id: v.id, x: b.left + window.scrollX, y: b.top + window.scrollY,
                  w: b.width, h: b.height};
        }))""", "returnByValue": True}, session=sid)
    for c in json.loads(r["result"]["value"]):
        png = br.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": c["x"], "y": c["y"], "width": c["w"], "height": c["h"], "scale": 1}},
            session=sid)["data"]
        with open("%s-%s.png" % (os.path.splitext(shot)[0], c["id"]), "wb") as f:
            f.write(base64.b64decode(png))


def check_page(br, path, shot, min_charts, timeout, each_chart=False, clip=None):
    url = "file://" + os.path.abspath(path)
    br.events = []
    target = br.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = br.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for m in ("Runtime.enable", "Log.enable", "Page.enable", "Network.enable"):
        br.send(m, session=sid)
    br.send("Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=sid)
    t0 = time.time()
    br.send("Page.navigate", {"url": url}, session=sid)
    status = None
    while time.time() - t0 < timeout:
        r = br.send("Runtime.evaluate", {
            "expression": "window.servesimReport ? JSON.stringify(window.servesimReport) : null",
            "returnByValue": True}, session=sid)
        v = r.get("result", {}).get("value")
        if v:
            status = json.loads(v)
            if status.get("done"):
                break
        time.sleep(0.2)
    elapsed = time.time() - t0
    problems = console_problems(br.events, url)
    if status is None or not status.get("done"):
        problems.append("the page did not finish rendering in %d s" % timeout)
    charts = status.get("charts", []) if status else []
    for c in charts:
        if not c.get("ok"):
            problems.append("chart %s (%s / %s): %s" % (c["id"], c["section"], c["title"],
                                                        c.get("error") or "no marks"))
    if len(charts) < min_charts:
        problems.append("%d charts, expected at least %d" % (len(charts), min_charts))
    # full-page screenshot
    metrics = br.send("Page.getLayoutMetrics", session=sid)
    size = metrics.get("cssContentSize") or metrics.get("contentSize")
    height = min(int(size["height"]) + 1, 16000)
    br.send("Emulation.setDeviceMetricsOverride",
            {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=sid)
    shot_args = {"format": "png", "captureBeyondViewport": True}
    if clip:
        y, h = (float(v) for v in clip.split(":"))
        shot_args["clip"] = {"x": 0, "y": y, "width": 1280, "height": h, "scale": 1}
    png = br.send("Page.captureScreenshot", shot_args, session=sid)["data"]
    with open(shot, "wb") as f:
        f.write(base64.b64decode(png))
    if each_chart:
        chart_shots(br, sid, shot)
    br.send("Target.closeTarget", {"targetId": target})
    marks = [c.get("marks", 0) for c in charts]
    print("%s: %d charts, %d with marks (fewest %d), %d problem(s), %.1f s -> %s" % (
        path, len(charts), sum(1 for c in charts if c.get("ok")), min(marks) if marks else 0,
        len(problems), elapsed, shot))
    for p in problems:
        print("  FAIL %s" % p)
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--screenshots", default=None)
    ap.add_argument("--min-charts", type=int, default=1)
    ap.add_argument("--each-chart", action="store_true")
    ap.add_argument("--clip", default=None, metavar="Y:H")
    ap.add_argument("--timeout", type=int, default=90)
    ap.add_argument("pages", nargs="+")
    a = ap.parse_args()
    if not os.access(a.chromium, os.X_OK):
        print("check_report: no Chromium at %s (apt-get install chromium)" % a.chromium)
        return 2
    if a.screenshots:
        os.makedirs(a.screenshots, exist_ok=True)
    br = Browser(a.chromium)
    ok = True
    try:
        for page in a.pages:
            base = os.path.splitext(os.path.basename(page))[0] + ".png"
            shot = os.path.join(a.screenshots, base) if a.screenshots else \
                os.path.splitext(page)[0] + ".png"
            ok &= check_page(br, page, shot, a.min_charts, a.timeout, a.each_chart,
                             a.clip)
    finally:
        br.close()
    print("check_report: %d page(s), %s" % (len(a.pages), "all passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
