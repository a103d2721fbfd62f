"""The live management plane end to end: the read-only REST endpoints,
maintenance, SSE tickets, the Server-Sent Events and WebSocket feeds
(clients written with the standard library only) and the dashboard in
headless Chromium driven over the DevTools protocol."""
import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse

import pytest

from sks5_server import Server, free_port, password_hash
from test_socks5 import echo_server, socks_connect, USER, PASSWORD  # noqa: F401

TOKEN = "live-api-token-0123456789"
AUTH = {"Authorization": "Bearer " + TOKEN}
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def config(ports, audit):
    return """
[server]
socks5_listen = "127.0.0.1:%d"
ssh_listen = "127.0.0.1:%d"
workers = 2
shutdown_timeout = 5

[security]
ip_guard_enabled = false
ban_threshold = 2
ban_window = 60
ban_duration = 600

[logging]
audit_log_path = "%s"

[api]
enabled = true
listen = "127.0.0.1:%d"
token = "%s"

[[groups]]
name = "staff"

[[users]]
username = "%s"
password_hash = "%s"
group = "staff"

[[users]]
username = "bob"
password_hash = "%s"
""" % (ports["socks"], ports["ssh"], audit, ports["api"], TOKEN, USER,
       password_hash(PASSWORD), password_hash(PASSWORD))


@pytest.fixture
def live(tmp_path):
    ports = {"socks": free_port(), "ssh": free_port(), "api": free_port()}
    audit = tmp_path / "audit.log"
    s = Server(tmp_path, config(ports, audit))
    s.ports = ports
    s.audit = audit
    s.wait_port(ports["socks"])
    s.wait_port(ports["api"])
    yield s
    assert s.stop() == 0


def request(s, method, path, headers=None, body=None):
    """One HTTP request; returns (status, headers, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def api(s, method, path, status=200):
    st, _, body = request(s, method, path, AUTH)
    assert st == status, body
    return json.loads(body)


def ticket(s):
    d = api(s, "POST", "/api/sse-ticket")["data"]
    assert d["expires_in"] == 30
    assert re.fullmatch(r"\d+:[0-9a-f]{32}:[0-9a-f]{64}", d["ticket"])
    return d["ticket"]


def socks_session(s, echo):
    """A SOCKS5 CONNECT through sks5 to the echo server, left open."""
    c, rep, _ = socks_connect(s.ports["socks"], 1, "127.0.0.1", echo)
    assert rep == 0
    return c


class SSE:
    """A minimal EventSource: yields (event, id, data) or ("comment", text)."""

    def __init__(self, s, query="", headers=None):
        self.conn = http.client.HTTPConnection("127.0.0.1", s.ports["api"], timeout=30)
        self.conn.request("GET", "/api/events" + query, headers=headers or {})
        self.resp = self.conn.getresponse()
        self.status = self.resp.status

    def next(self):
        ev, eid, data = "message", None, []
        while True:
            line = self.resp.fp.readline()
            if not line:
                raise EOFError("stream ended")
            line = line.decode().rstrip("\n")
            if line == "":
                if data:
                    return ev, eid, "\n".join(data)
                continue
            if line.startswith(":"):
                return "comment", None, line[1:].strip()
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "event":
                ev = v
            elif k == "id":
                eid = v
            elif k == "data":
                data.append(v)

    def wait(self, pred, limit=200, timeout=30):
        deadline = time.time() + timeout
        for _ in range(limit):
            assert time.time() < deadline, "no matching SSE message in time"
            m = self.next()
            if pred(m):
                return m
        raise AssertionError("no matching SSE message")

    def close(self):
        self.conn.close()


class WS:
    """A WebSocket client on a plain socket (RFC 6455, client side)."""

    def __init__(self, port, path, headers=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.key = base64.b64encode(os.urandom(16)).decode()
        h = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\n" % (path, port, self.key))
        for k, v in (headers or {}).items():
            h += "%s: %s\r\n" % (k, v)
        self.s.sendall((h + "\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.s.recv(4096)
            if not d:
                break
            buf += d
            assert len(buf) < 65536
        head, _, self.rest = buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def expected_accept(self):
        return base64.b64encode(hashlib.sha1((self.key + WS_GUID).encode()).digest()).decode()

    def _read(self, n):
        while len(self.rest) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("socket closed")
            self.rest += d
        out, self.rest = self.rest[:n], self.rest[n:]
        return out

    def recv(self):
        b0, b1 = self._read(2)
        assert b1 & 0x80 == 0, "server frames are never masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read(8))[0]
        return b0 & 0x0F, self._read(n)

    def send(self, op, payload=b"", mask=True, fin=True):
        h = bytes([(0x80 if fin else 0) | op])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            h += bytes([m | n])
        elif n <= 0xFFFF:
            h += bytes([m | 126]) + struct.pack(">H", n)
        else:
            h += bytes([m | 127]) + struct.pack(">Q", n)
        if mask:
            k = os.urandom(4)
            payload = bytes(c ^ k[i % 4] for i, c in enumerate(payload))
            h += k
        self.s.sendall(h + payload)

    def wait(self, pred, limit=200, timeout=30):
        deadline = time.time() + timeout
        for _ in range(limit):
            assert time.time() < deadline, "no matching frame in time"
            op, p = self.recv()
            if pred(op, p):
                return op, p
        raise AssertionError("no matching frame")

    def close(self):
        self.s.close()


def is_event(data, etype, **members):
    try:
        ev = json.loads(data)
    except ValueError:
        return False
    ev = ev.get("event", ev)
    return ev.get("event_type") == etype and all(ev.get(k) == v for k, v in members.items())


def test_read_only_endpoints(live, echo_server):
    assert api(live, "GET", "/api/sessions")["data"] == []
    c = socks_session(live, echo_server)
    try:
        # The stream is registered right after its reply went out.
        deadline = time.time() + 15
        while not api(live, "GET", "/api/sessions")["data"]:
            assert time.time() < deadline, "the session never showed"
            time.sleep(0.1)
        sess = api(live, "GET", "/api/sessions")["data"]
        assert len(sess) == 1
        e = sess[0]
        assert e["username"] == USER and e["protocol"] == "socks5"
        assert e["target_host"] == "127.0.0.1" and e["target_port"] == echo_server
        assert e["source_ip"] == "127.0.0.1" and re.fullmatch(r"s\d+", e["session_id"])
        assert api(live, "GET", "/api/sessions/" + USER)["data"] == sess
        assert api(live, "GET", "/api/sessions/bob")["data"] == []
        g = api(live, "GET", "/api/groups")["data"]
        assert [x["name"] for x in g] == ["staff"]
        assert g[0]["member_count"] == 1 and g[0]["active_connections"] == 1
        assert api(live, "GET", "/api/groups/staff")["data"]["members"][0]["username"] == USER
    finally:
        c.close()
    assert api(live, "GET", "/api/groups/none", 404)["error"] == "group 'none' not found"
    q = api(live, "GET", "/api/quotas")["data"]
    assert sorted(x["username"] for x in q) == ["alice", "bob"]
    assert api(live, "GET", "/api/quotas/alice")["data"]["daily_connections"] >= 1
    # Unknown names are 404 (the original created a tracker entry).
    assert api(live, "GET", "/api/quotas/mallory", 404)["error"] == "user 'mallory' not found"
    assert "mallory" not in [x["username"] for x in api(live, "GET", "/api/quotas")["data"]]
    assert api(live, "GET", "/api/bans")["data"] == []
    # Two failed logins ban 127.0.0.1; the ban shows with its expiry.
    for _ in range(2):
        c, rep, _ = socks_connect(live.ports["socks"], 1, "127.0.0.1", echo_server,
                                  password="wrong")
        c.close()
        assert rep == "authfail"
    bans = api(live, "GET", "/api/bans")["data"]
    assert [b["ip"] for b in bans] == ["127.0.0.1"]
    assert 0 < bans[0]["remaining_secs"] <= 600
    assert bans[0]["expires_at"].endswith("Z")
    # The unban itself is tested below (test_api_unban_lets_the_address_in).
    st, _, _ = request(live, "DELETE", "/api/bans/127.0.0.1")
    assert st == 401


def test_ssh_config(live):
    st, h, body = request(live, "GET", "/api/ssh-config?user=alice&host=bastion.test", AUTH)
    assert st == 200 and h["Content-Type"].startswith("text/plain")
    text = body.decode()
    assert text.splitlines() == ["Host bastion.test", "    HostName bastion.test",
                                 "    Port %d" % live.ports["ssh"], "    User alice",
                                 "    DynamicForward 1080"]
    assert "StrictHostKeyChecking" not in text
    st, _, body = request(live, "GET", "/api/ssh-config?user=alice", AUTH)
    assert b"HostName localhost" in body
    for q in ["", "user=", "user=a%0AProxyCommand%20x", "user=a%20b", "user=-oX",
              "user=alice&host=x%0Ay", "user=alice&host=%25h", "user=a%22b"]:
        st, _, _ = request(live, "GET", "/api/ssh-config?" + q, AUTH)
        assert st == 400, q


def test_maintenance_toggle_and_audit(live):
    assert api(live, "POST", "/api/maintenance")["data"]["maintenance"] is True
    st, _, body = request(live, "GET", "/api/health", AUTH)
    assert st == 503 and json.loads(body)["data"]["maintenance"] is True
    assert api(live, "POST", "/api/maintenance")["data"]["maintenance"] is False
    st, _, _ = request(live, "GET", "/api/maintenance", AUTH)
    assert st == 405
    # SIGUSR1 flips the same flag and is audited the same way.
    live.proc.send_signal(signal.SIGUSR1)
    deadline = time.time() + 15
    lines = []
    while time.time() < deadline:
        lines = [json.loads(x) for x in live.audit.read_text().splitlines() if x]
        lines = [x for x in lines if x["event_type"] == "maintenance.toggled"]
        if len(lines) == 3:
            break
        time.sleep(0.1)
    assert [(x["enabled"], x["source"]) for x in lines] == [
        (True, "api"), (False, "api"), (True, "signal")]
    assert api(live, "GET", "/api/status")["data"]["maintenance"] is True


def test_tickets_refused(live):
    t = ticket(live)
    # A ticket opens only the streams, never the other routes.
    st, _, _ = request(live, "GET", "/api/status?ticket=" + urllib.parse.quote(t))
    assert st == 401
    for bad in ["", "1:2:3", t[:-1] + ("0" if t[-1] != "0" else "1"),
                "%d:%s:%s" % (int(time.time()), "0" * 32, "0" * 64)]:
        st, _, body = request(live, "GET", "/api/events?ticket=" + urllib.parse.quote(bad))
        assert st == 401 and body == b"unauthorized"
    # A wrong Bearer header is not rescued by a good ticket.
    st, _, _ = request(live, "GET", "/api/events?ticket=" + urllib.parse.quote(t),
                       {"Authorization": "Bearer nope"})
    assert st == 401
    # Good once, then refused.
    e = SSE(live, "?ticket=" + urllib.parse.quote(t))
    assert e.status == 200
    e.close()
    st, _, _ = request(live, "GET", "/api/events?ticket=" + urllib.parse.quote(t))
    assert st == 401
    # ?token= is not a way in either.
    st, _, _ = request(live, "GET", "/api/events?token=" + TOKEN)
    assert st == 401


def test_sse_receives_socks_events(live, echo_server):
    e = SSE(live, "?ticket=" + urllib.parse.quote(ticket(live)))
    try:
        assert e.status == 200
        assert e.resp.getheader("Content-Type") == "text/event-stream"
        _, _, data = e.wait(lambda m: m[0] == "message")
        snap = json.loads(data)
        assert snap["total_users"] == 2
        assert {u["username"] for u in snap["users"]} == {"alice", "bob"}
        c = socks_session(live, echo_server)
        c.sendall(b"ping")
        assert c.recv(4) == b"ping"
        c.close()
        # In order: the login, then the stream.
        e.wait(lambda m: m[0] == "audit" and is_event(m[2], "auth.success", username=USER))
        ev, eid, data = e.wait(lambda m: m[0] == "audit" and is_event(m[2], "proxy.start",
                                                                        username=USER))
        assert int(eid) == json.loads(data)["id"]
        ev, _, data = e.wait(lambda m: m[0] == "audit" and is_event(m[2], "proxy.complete"))
        assert json.loads(data)["bytes_uploaded"] == 4
        # A session shows in the next snapshot... and is gone after.
        e.wait(lambda m: m[0] == "message" and json.loads(m[2])["sessions"]["total_active"] == 0)
    finally:
        e.close()


def test_sse_heartbeat_and_bearer(live):
    e = SSE(live, headers=AUTH)
    try:
        assert e.status == 200
        # Nothing happens: a heartbeat comment comes within ~10 s.
        e.wait(lambda m: m[0] == "comment" and m[2] == "ping", timeout=40)
    finally:
        e.close()


def test_stream_cap(live):
    streams = []
    try:
        for _ in range(8):
            e = SSE(live, headers=AUTH)
            assert e.status == 200
            e.next()
            streams.append(e)
        st, _, body = request(live, "GET", "/api/events", AUTH)
        assert st == 503 and b"too many live streams" in body
        w = WS(live.ports["api"], "/api/ws", AUTH)
        assert w.status == 503
        w.close()
    finally:
        for e in streams:
            e.close()
    # The slots come back once the clients left (found on the next write,
    # a heartbeat at the latest).
    deadline = time.time() + 60
    while True:
        st, _, _ = request(live, "GET", "/api/status", AUTH)
        e = SSE(live, headers=AUTH)
        ok = e.status == 200
        e.close()
        if ok:
            break
        assert time.time() < deadline, "stream slots never freed"
        time.sleep(0.5)


def test_websocket(live, echo_server):
    w = WS(live.ports["api"], "/api/ws?ticket=" + urllib.parse.quote(ticket(live)))
    try:
        assert w.status == 101, w.headers
        assert w.headers["upgrade"].lower() == "websocket"
        assert w.headers["connection"].lower() == "upgrade"
        assert w.headers["sec-websocket-accept"] == w.expected_accept()
        op, p = w.recv()
        assert op == 1 and json.loads(p)["total_users"] == 2
        c = socks_session(live, echo_server)
        c.close()
        w.wait(lambda op, p: op == 1 and is_event(p, "proxy.start", username=USER))
        # Ping is answered with the same payload, even between fragments.
        w.send(0x1, b'{"action":', fin=False)
        w.send(0x9, b"hello")
        w.send(0x0, b'"maintenance","enabled":true}')
        w.wait(lambda op, p: op == 0xA and p == b"hello")
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p) == {"success": True, "action": "maintenance", "maintenance": True}
        w.wait(lambda op, p: op == 1 and is_event(p, "maintenance.toggled", source="ws"))
        w.send(0x1, b'{"action":"maintenance","enabled":false}')
        w.wait(lambda op, p: op == 1 and b'"maintenance":false' in p and b'"action"' in p)
        # alice has no SSH connection: nothing to kick, but she exists.
        w.send(0x1, b'{"action":"kick","username":"alice"}')
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p) == {"success": True, "action": "kick", "username": "alice",
                                 "sessions_cancelled": 0}
        w.send(0x1, b'{"action":"kick","username":"nobody"}')
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p) == {"success": False, "action": "kick", "error": "user not found"}
        w.send(0x1, b'{"action":"kick"}')
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p)["error"] == "username required"
        w.send(0x1, b'{"action":"unban","ip":"127.0.0.9"}')
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p) == {"success": True, "action": "unban", "ip": "127.0.0.9",
                                 "unbanned": False}
        w.send(0x1, b'{"action":"unban","ip":"not-an-ip"}')
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p) == {"success": False, "action": "unban", "error": "invalid IP"}
        w.send(0x1, b"not json")
        _, p = w.wait(lambda op, p: op == 1 and b'"action"' in p)
        assert json.loads(p) == {"success": False, "action": "unknown", "error": "invalid command"}
        w.send(0x8, struct.pack(">H", 1000))
        op, p = w.wait(lambda op, p: op == 8)
        assert struct.unpack(">H", p[:2])[0] == 1000
    finally:
        w.close()


def test_websocket_refusals(live):
    w = WS(live.ports["api"], "/api/ws")
    assert w.status == 401
    w.close()
    w = WS(live.ports["api"], "/api/ws?ticket=bogus")
    assert w.status == 401
    w.close()
    # A version other than 13.
    s = socket.create_connection(("127.0.0.1", live.ports["api"]), timeout=10)
    s.sendall(("GET /api/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"
               "Authorization: Bearer %s\r\n\r\n" % TOKEN).encode())
    assert s.recv(100).startswith(b"HTTP/1.1 426")
    s.close()
    # Hostile frames: unmasked data, then an oversized length.
    for frame, code in [((0x1, b"hi", False), 1002), ((0x2, b"x" * 20000, True), 1009)]:
        w = WS(live.ports["api"], "/api/ws", AUTH)
        assert w.status == 101
        w.send(frame[0], frame[1], mask=frame[2])
        op, p = w.wait(lambda op, p: op == 8)
        assert struct.unpack(">H", p[:2])[0] == code
        w.close()


def chromium():
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class Chrome:
    """Headless Chromium driven over the DevTools protocol."""

    def __init__(self, tmp_path):
        self.proc = subprocess.Popen(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-dev-shm-usage", "--remote-debugging-port=0",
             "--user-data-dir=" + str(tmp_path / "chrome"), "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stderr.readline().decode(errors="replace")
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
            if not line and self.proc.poll() is not None:
                break
        assert self.port, "chromium did not start"
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request("GET", "/json/list")
        pages = [t for t in json.loads(c.getresponse().read()) if t["type"] == "page"]
        c.close()
        url = urllib.parse.urlparse(pages[0]["webSocketDebuggerUrl"])
        self.ws = WS(self.port, url.path)
        assert self.ws.status == 101
        self.seq = 0

    def call(self, method, **params):
        self.seq += 1
        self.ws.send(0x1, json.dumps({"id": self.seq, "method": method,
                                      "params": params}).encode())
        _, p = self.ws.wait(lambda op, p: op == 1 and json.loads(p).get("id") == self.seq,
                            limit=10000, timeout=30)
        r = json.loads(p)
        assert "error" not in r, r
        return r["result"]

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        return r["result"].get("value")

    def poll(self, expr, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.eval(expr)
            if v:
                return v
            time.sleep(0.3)
        raise AssertionError("never true in the page: " + expr)

    def close(self):
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def test_dashboard_headers(live):
    st, h, _ = request(live, "GET", "/")
    assert st == 308 and h["Location"] == "/dashboard"
    st, h, body = request(live, "GET", "/dashboard")
    assert st == 200 and h["Content-Type"].startswith("text/html")
    csp = h["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe" not in csp
    assert h["X-Frame-Options"] == "DENY"
    page = body.decode()
    # Self-contained: no outside resource, and the served page is made of
    # the committed assets.
    assert "http://" not in page and "https://" not in page and " src=" not in page
    root = os.path.join(os.path.dirname(__file__), "..", "..", "src", "admin", "dashboard")
    for name in ("app.js", "style.css"):
        with open(os.path.join(root, name)) as f:
            text = f.read()
        assert text in page
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert "'sha256-%s'" % digest in csp


def test_dashboard_in_chromium(live, echo_server, tmp_path):
    # Never skipped: scripts/install-deps.sh (make test) installs chromium.
    assert chromium() is not None, "chromium missing: run scripts/install-deps.sh"
    ch = Chrome(tmp_path)
    try:
        ch.call("Page.enable")
        # The token travels in the fragment, which no request carries.
        ch.call("Page.navigate", url="http://127.0.0.1:%d/dashboard#token=%s"
                % (live.ports["api"], TOKEN))
        users = ch.poll("(() => { const r = [...document.querySelectorAll('#users tbody tr')];"
                        " return r.length ? r.map(x => x.cells[0].textContent) : null; })()")
        assert sorted(users) == ["alice", "bob"]
        assert ch.eval("location.hash") == ""
        ch.poll("document.getElementById('feed').textContent === 'live'")
        # A SOCKS5 connection appears in the live event list.
        c = socks_session(live, echo_server)
        c.close()
        ch.poll("[...document.querySelectorAll('#events li')].some("
                "x => x.getAttribute('data-type') === 'proxy.start')")
        # An attacker-chosen user name is shown as text, never as markup.
        c, rep, _ = socks_connect(live.ports["socks"], 1, "127.0.0.1", echo_server,
                                  user="<img src=x id=pwn>", password="x")
        c.close()
        ch.poll("[...document.querySelectorAll('#events li')].some("
                "x => x.textContent.includes('<img src=x id=pwn>'))")
        assert ch.eval("document.getElementById('pwn') === null") is True
        # A browser's own WebSocket completes the handshake (under the
        # page's CSP) and receives the feed.
        ch.eval("window.__ws = []; fetch('/api/sse-ticket', {method: 'POST', headers: "
                "{Authorization: 'Bearer %s'}}).then(r => r.json()).then(j => {"
                " const w = new WebSocket('ws://' + location.host + '/api/ws?ticket=' +"
                " encodeURIComponent(j.data.ticket));"
                " w.onmessage = m => window.__ws.push(m.data); }); 1" % TOKEN)
        got = ch.poll("window.__ws.length > 0 && window.__ws[0]")
        assert json.loads(got)["total_users"] == 2
        # The maintenance button works.
        ch.eval("document.getElementById('maint').click()")
        ch.poll("document.getElementById('c-status').textContent === 'maintenance'")
        assert api(live, "GET", "/api/status")["data"]["maintenance"] is True
    finally:
        ch.close()
    # The token never went into a URL the server saw.
    assert TOKEN not in live.text()


# ---- operator actions: unban, kick, quota reset -------------------------

def socks_login(port, password, source="127.0.0.2"):
    """A SOCKS5 username/password login from source; "ok", "authfail" or
    "closed" (the server dropped the connection, as it does when banned)."""
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=10,
                                     source_address=(source, 0))
    except OSError:
        return "closed"
    try:
        c.sendall(b"\x05\x01\x02")
        if c.recv(2) != b"\x05\x02":
            return "closed"
        u, p = USER.encode(), password.encode()
        c.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        r = c.recv(2)
        if len(r) < 2:
            return "closed"
        return "ok" if r[1] == 0 else "authfail"
    except OSError:
        return "closed"
    finally:
        c.close()


def audit_events(path, etype):
    if not path.exists():
        return []
    return [e for e in (json.loads(ln) for ln in path.read_text().splitlines())
            if e.get("event_type") == etype]


def wait_audit(path, etype):
    end = time.time() + 20
    while time.time() < end:
        ev = audit_events(path, etype)
        if ev:
            return ev
        time.sleep(0.1)
    raise AssertionError("no %s in %s" % (etype, path))


def test_api_unban_lets_the_address_in(live):
    for _ in range(2):
        assert socks_login(live.ports["socks"], "wrong") == "authfail"
    end = time.time() + 20
    while [b["ip"] for b in api(live, "GET", "/api/bans")["data"]] != ["127.0.0.2"]:
        assert time.time() < end, "no ban"
        time.sleep(0.1)
    assert socks_login(live.ports["socks"], PASSWORD) != "ok"
    assert api(live, "DELETE", "/api/bans/127.0.0.9", 404) == {
        "success": False, "error": "IP not banned"}
    assert api(live, "DELETE", "/api/bans/127.0.0.300", 400) == {
        "success": False, "error": "invalid IP address"}
    assert api(live, "DELETE", "/api/bans/127.0.0.2")["data"] == {
        "ip": "127.0.0.2", "unbanned": True}
    assert api(live, "GET", "/api/bans")["data"] == []
    assert socks_login(live.ports["socks"], PASSWORD) == "ok"
    ev = wait_audit(live.audit, "admin.unban")
    assert ev[0]["target"] == "127.0.0.2" and ev[0]["via"] == "api", ev


def test_api_quota_reset(tmp_path, echo_server):
    # alice may move 1000 bytes in total; the first stream spends them.
    ports = {"socks": free_port(), "ssh": free_port(), "api": free_port()}
    audit = tmp_path / "audit.log"
    cfg = config(ports, audit).replace(
        'group = "staff"\n', 'group = "staff"\n[users.quotas]\ntotal_bandwidth_bytes = 1000\n', 1)
    s = Server(tmp_path, cfg)
    s.ports, s.audit = ports, audit
    try:
        s.wait_port(s.ports["socks"])
        s.wait_port(s.ports["api"])

        def one_stream(n):
            """A stream echoing n bytes; the reply code of the CONNECT."""
            c, rep, _ = socks_connect(s.ports["socks"], 1, "127.0.0.1", echo_server)
            try:
                if rep == 0 and n:
                    c.settimeout(20)
                    c.sendall(b"x" * n)
                    got = 0
                    while got < n:
                        b = c.recv(65536)
                        if not b:
                            break
                        got += len(b)
            except OSError:
                pass
            finally:
                c.close()
            return rep

        assert one_stream(4000) == 0
        end = time.time() + 20
        while one_stream(0) == 0:        # the ended stream counted its bytes
            assert time.time() < end, "the total quota never closed"
            time.sleep(0.2)
        assert api(s, "POST", "/api/quotas/nobody/reset", 404)["success"] is False
        assert api(s, "POST", "/api/quotas/%s/reset" % USER)["data"] == {
            "username": USER, "reset": True}
        assert one_stream(10) == 0
        ev = wait_audit(s.audit, "admin.quota_reset")
        assert ev[0]["target"] == USER and ev[0]["via"] == "api", ev
    finally:
        assert s.stop() == 0


@pytest.mark.skipif(shutil.which("ssh") is None, reason="openssh-client missing")
def test_api_kick_closes_ssh_forward(tmp_path, echo_server):
    from test_ssh import Env, keygen, pub
    e = Env(tmp_path)
    api_port = free_port()
    audit = tmp_path / "audit.jsonl"
    e.start(e.user("bob", keys=[pub(e.key)]) + e.user("carol", keys=[pub(e.key)]),
            extra='[logging]\naudit_log_path = "%s"\n[api]\nenabled = true\n'
                  'listen = "127.0.0.1:%d"\ntoken = "%s"\n' % (audit, api_port, TOKEN))
    e.server.ports = {"api": api_port}
    e.server.wait_port(api_port)
    lport = free_port()
    fwd = subprocess.Popen(
        e.ssh_args(e.key, ["-N", "-o", "ExitOnForwardFailure=yes",
                           "-L", "%d:127.0.0.1:%d" % (lport, echo_server)])
        + ["bob@127.0.0.1"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, start_new_session=True)
    try:
        c = None
        end = time.time() + 20
        while c is None and time.time() < end:
            assert fwd.poll() is None, fwd.stderr.read()
            try:
                c = socket.create_connection(("127.0.0.1", lport), timeout=5)
            except OSError:
                time.sleep(0.1)
        assert c is not None
        c.sendall(b"ping")
        assert c.recv(10) == b"ping"
        st, _, body = request(e.server, "POST", "/api/kick/bob")
        assert st == 401 and fwd.poll() is None
        assert api(e.server, "POST", "/api/kick/nobody", 404)["success"] is False
        assert api(e.server, "POST", "/api/kick/carol")["data"] == {
            "kicked": False, "username": "carol", "sessions_cancelled": 0}
        st, _, body = request(e.server, "POST", "/api/kick/bob", AUTH, body=b'{"message":5}')
        assert st == 422 and fwd.poll() is None
        st, _, body = request(e.server, "POST", "/api/kick/bob",
                              dict(AUTH, **{"Content-Type": "application/json"}),
                              body=b'{"message":"maintenance window"}')
        assert st == 200, body
        assert json.loads(body)["data"] == {
            "kicked": True, "username": "bob", "sessions_cancelled": 1}
        fwd.wait(timeout=30)             # the ssh -N client is gone
        c.settimeout(20)
        assert c.recv(10) == b""         # and so is the stream
        c.close()
    finally:
        if fwd.poll() is None:
            fwd.kill()
            fwd.wait()
        e.server.wait_log("event=session.kicked")
        ev = wait_audit(audit, "admin.kick")
        e.stop()
    bob = [x for x in ev if x["target"] == "bob"]
    assert bob and bob[0]["via"] == "api" and bob[0]["count"] == 1, ev
    assert bob[0]["message"] == "maintenance window", ev
