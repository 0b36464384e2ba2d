#!/usr/bin/python3
"""Drives headless Chromium over its DevTools protocol to watch loadkit's live
dashboard (tests/dashboard.cpp runs it with /usr/bin/python3; only the
standard library and the installed Chromium are used, nothing is downloaded).

    dashboard_browser.py URL OUTDIR [--gap SECONDS] [--limit SECONDS]

--remote-debugging-pipe: Chromium reads commands on fd 3 and writes answers
and events on fd 4, each a JSON text ended by a NUL byte. The script opens
URL, waits for the first live update, reads the page's numbers twice GAP
seconds apart (and saves OUTDIR/dashboard_live.png), waits for the run's
final event, reads them again, saves OUTDIR/dashboard.png, and prints one
JSON line:
    {"first": {...}, "second": {...}, "final": {...}, "screenshot": PATH}
Each reading: updates (events applied), state, and the cards' numbers
(data-value of [data-metric=...]) and shown text. Exit 0 when all of that
happened, 2 with {"error": ...} when not; never longer than --limit.
"""
import base64
import json
import os
import select
import subprocess
import sys
import tempfile
import time

READ = r"""(() => {
  if (!document.body || !document.getElementById('lk-cards')) return JSON.stringify({updates: 0, state: 'loading'});
  const card = m => document.querySelector('[data-metric="' + m + '"]');
  const v = m => { const e = card(m); return e ? Number(e.dataset.value) : null; };
  const t = m => { const e = card(m); return e ? e.querySelector('.v').textContent : null; };
  const badges = sel => Array.from(document.querySelectorAll(sel + ' .badge')).map(b => b.textContent);
  const rows = Array.from(document.querySelectorAll('#lk-requests tr')).slice(1)
    .map(r => Array.from(r.children).slice(0, 4).map(c => c.textContent));
  return JSON.stringify({
    updates: Number(document.body.dataset.updates || 0), state: document.body.dataset.state || '',
    rendered: document.body.dataset.rendered || '', elapsed: v('elapsed'), reqs: v('http_reqs'),
    reqs_text: t('http_reqs'), failed: v('http_req_failed'), vus: v('vus'), rps: v('rps'),
    status: (document.querySelector('#lk-header .status') || {}).textContent || '',
    thresholds: badges('#lk-thresholds'), checks: badges('#lk-checks'), requests: rows,
    charts: document.querySelectorAll('#lk-charts svg.lk-chart').length,
    polylines: document.querySelectorAll('#lk-charts polyline').length,
    control: (document.getElementById('lk-control-msg') || {}).textContent || '',
    conn: (document.getElementById('lk-conn') || {}).textContent || ''
  });
})()"""


class Browser:
    def __init__(self, profile, deadline):
        self.deadline = deadline
        cmd_r, self.cmd_w = os.pipe()  # we write commands; Chromium reads fd 3
        self.res_r, res_w = os.pipe()  # Chromium writes fd 4; we read
        def fds():  # in the child: the pipes at 3 and 4 (moved up first, so neither overwrites the other)
            import fcntl
            r, w = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)  # (dup2's copies are inherited; every other descriptor of this process is not)
            os.dup2(w, 4)
        args = ["/usr/bin/chromium", "--headless=new", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--disable-quic", "--hide-scrollbars", "--user-data-dir=" + profile,
                "about:blank"]
        self.log = open(os.path.join(profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     preexec_fn=fds, close_fds=False)
        os.close(cmd_r)
        os.close(res_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def close(self):
        try:
            os.close(self.cmd_w)
        except OSError:
            pass
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def left(self):
        t = self.deadline - time.monotonic()
        if t <= 0:
            raise TimeoutError("the time limit passed")
        return t

    def message(self):
        while b"\0" not in self.buf:
            r, _, _ = select.select([self.res_r], [], [], self.left())
            if not r:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.res_r, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed its pipe (exit %s)" % self.proc.poll())
            self.buf += chunk
        text, self.buf = self.buf.split(b"\0", 1)
        return json.loads(text)

    def call(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self.message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise RuntimeError("page script failed: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def read(self):
        return json.loads(self.evaluate(READ))

    def wait_for(self, what, test, limit):
        end = min(self.deadline, time.monotonic() + limit)
        last = None
        while time.monotonic() < end:
            last = self.read()
            if test(last):
                return last
            time.sleep(0.1)
        raise TimeoutError("waited %.0f s for %s; the page had %s" % (limit, what, json.dumps(last)))


def main():
    url, outdir = sys.argv[1], sys.argv[2]
    gap, limit = 3.0, 60.0
    rest = sys.argv[3:]
    while rest:
        if rest[0] == "--gap":
            gap = float(rest[1])
        elif rest[0] == "--limit":
            limit = float(rest[1])
        rest = rest[2:]
    deadline = time.monotonic() + limit
    profile = tempfile.mkdtemp(prefix="chromium-", dir=outdir)
    b = Browser(profile, deadline)
    out = {}
    try:
        b.call("Target.setDiscoverTargets", {"discover": True}, session=False)
        target = b.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        b.session = b.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        b.call("Page.enable")
        b.call("Runtime.enable")
        b.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 2300, "deviceScaleFactor": 1,
                                                       "mobile": False})
        nav = b.call("Page.navigate", {"url": url})
        if nav.get("errorText"):
            raise RuntimeError("navigation failed: " + nav["errorText"])
        b.wait_for("the page", lambda r: r["state"] != "loading", 10)
        out["first"] = b.wait_for("a live update", lambda r: r["updates"] >= 1 and r["state"] == "running", 20)
        time.sleep(gap)
        out["second"] = b.read()
        shot = b.call("Page.captureScreenshot", {"format": "png"})  # the page while the run goes on
        with open(os.path.join(outdir, "dashboard_live.png"), "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        out["final"] = b.wait_for("the final event", lambda r: r["state"] == "finished", max(5, limit - 5))
        time.sleep(0.3)  # a frame after the last update
        shot = b.call("Page.captureScreenshot", {"format": "png"})
        path = os.path.join(outdir, "dashboard.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        out["screenshot"] = path
        print(json.dumps(out))
        return 0
    except Exception as e:  # everything goes to the test as one line it can show
        out["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(out))
        return 2
    finally:
        b.close()


if __name__ == "__main__":
    sys.exit(main())
