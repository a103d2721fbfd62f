"""Webhooks and alert rules end to end: sks5 POSTs audit events to a
Python HTTP receiver on 127.0.0.1, driven by real SOCKS5 logins."""
import hashlib
import hmac
import json
import os
import shutil
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sks5_server import Server, can_isolate_dns, free_port, password_hash
from test_socks5 import echo_server, socks_connect, USER, PASSWORD  # noqa: F401
from test_ssh import Env as SshEnv

SECRET = "hook-signing-secret-0123"


class Receiver:
    """An HTTP server recording every POST; answers the statuses of plan
    in order, then 200."""

    def __init__(self, plan=()):
        self.requests = []
        self.plan = list(plan)
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with rec.lock:
                    rec.requests.append((self.path, dict(self.headers.items()), body))
                    status = rec.plan.pop(0) if rec.plan else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, _, b in self.requests]

    def events(self, type_=None):
        return [b for b in self.bodies() if type_ is None or b.get("event_type") == type_]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(plan=()):
        r = Receiver(plan)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def wait_for(fn, what, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def webhook(url, events=None, secret=None, extra=""):
    s = '\n[[webhooks]]\nurl = "%s"\nallow_private_ips = true\n' % url
    if events is not None:
        s += "events = [%s]\n" % ", ".join('"%s"' % e for e in events)
    if secret is not None:
        s += 'secret = "%s"\n' % secret
    return s + extra


def config(port, hooks, audit=None, alerting="", metrics=None):
    body = """
[server]
socks5_listen = "127.0.0.1:%d"
workers = 2
shutdown_timeout = 5

[security]
ip_guard_enabled = false
ban_enabled = false

[logging]
""" % port
    if audit is not None:
        body += 'audit_log_path = "%s"\n' % audit
    if metrics is not None:
        body += '\n[metrics]\nenabled = true\nlisten = "127.0.0.1:%d"\n' % metrics
    body += hooks + alerting
    body += '\n[[users]]\nusername = "%s"\npassword_hash = "%s"\n' % (USER, password_hash(PASSWORD))
    return body


@pytest.fixture
def sks5(tmp_path):
    started = []

    def start(hooks, **kw):
        port = free_port()
        s = Server(tmp_path, config(port, hooks, **kw))
        s.port = port
        s.wait_port(port)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0


def failed_login(port, user="mallory"):
    s, code, _ = socks_connect(port, 1, "127.0.0.1", 9, user=user, password="wrong")
    s.close()
    assert code == "authfail"


def good_login(port, echo):
    s, code, _ = socks_connect(port, 1, "127.0.0.1", echo)
    s.close()
    assert code == 0


def audit_events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_auth_failure_webhook_is_signed_and_filtered(sks5, receiver, echo_server):
    only_fail, everything = receiver(), receiver()
    s = sks5(webhook(only_fail.url("/fail?token=xyz"), ["auth_failure"], SECRET) +
             webhook(everything.url()))
    failed_login(s.port, user="mallory")
    wait_for(lambda: only_fail.requests, "the auth.failure POST")
    path, headers, raw = only_fail.requests[0]
    assert path == "/fail?token=xyz"
    body = json.loads(raw)
    assert body["event_type"] == "auth.failure"
    assert body["timestamp"] == body["data"]["timestamp"]
    data = body["data"]
    assert data["event_type"] == "auth.failure"
    assert data["username"] == "mallory"
    assert data["source_ip"] == "127.0.0.1"
    assert data["method"] == "password"
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("sks5/")
    assert headers["X-Sks5-Event"] == "auth.failure"
    want = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["X-Signature-256"] == "sha256=" + want
    stamp, _, sig = headers["X-Sks5-Signature-256"].partition(",")
    assert stamp == "t=" + headers["X-Sks5-Timestamp"]
    ts = stamp[2:].encode()
    assert sig == "sha256=" + hmac.new(SECRET.encode(), ts + b"." + raw,
                                       hashlib.sha256).hexdigest()

    # A successful login reaches the unfiltered hook but not the filtered one.
    good_login(s.port, echo_server)
    wait_for(lambda: everything.events("proxy.complete"), "proxy.complete")
    assert everything.events("auth.success")
    assert everything.events("auth.failure")
    assert [b["event_type"] for b in only_fail.bodies()] == ["auth.failure"]
    assert "X-Signature-256" not in everything.requests[0][1]
    # Neither the secret nor the URL's path and query are ever logged.
    text = s.text()
    assert SECRET not in text and "token=xyz" not in text


@pytest.mark.skipif(shutil.which("ssh") is None, reason="openssh-client missing")
def test_ssh_auth_failure_webhook(tmp_path, receiver):
    r = receiver()
    env = SshEnv(tmp_path)
    try:
        env.start(env.user(), security="ban_enabled = false",
                  extra=webhook(r.url(), ["auth.failure"], SECRET))
        res = env.run(env.pw_args(), cmd="whoami", password="wrong")
        assert res.returncode == 255
        wait_for(lambda: r.requests, "the SSH auth.failure POST")
        _, headers, raw = r.requests[0]
        data = json.loads(raw)["data"]
        assert data["event_type"] == "auth.failure"
        assert data["protocol"] == "ssh"
        assert data["username"] == USER
        assert data["method"] == "password"
        assert data["source_ip"] == "127.0.0.1"
        want = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Signature-256"] == "sha256=" + want
    finally:
        env.stop()


def metric(port, name):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open("http://127.0.0.1:%d/metrics" % port, timeout=10) as f:
        text = f.read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(line.split()[-1])
    return None


def test_receiver_error_is_retried(sks5, receiver):
    r = receiver(plan=[500])
    mport = free_port()
    s = sks5(webhook(r.url(), ["auth.failure"], extra="retry_delay_ms = 100\n"),
             metrics=mport)
    s.wait_port(mport)
    failed_login(s.port)
    wait_for(lambda: len(r.requests) >= 2, "the retried POST")
    assert r.requests[0][2] == r.requests[1][2]
    d0, d1 = r.requests[0][1]["X-Sks5-Delivery"], r.requests[1][1]["X-Sks5-Delivery"]
    assert d0.split("-")[0] == d1.split("-")[0] and d0 != d1
    s.wait_log("event=webhook.retry")
    assert "status=500" in s.text()
    wait_for(lambda: metric(mport, 'sks5_webhook_deliveries_total{result="delivered"}') == 1,
             "the delivered counter")
    assert metric(mport, "sks5_webhook_retries_total") == 1
    assert metric(mport, 'sks5_webhook_deliveries_total{result="failed"}') == 0
    assert len(r.requests) == 2


def test_alert_fires_once_past_threshold(sks5, receiver, echo_server, tmp_path):
    r = receiver()
    audit = str(tmp_path / "audit.jsonl")
    rules = """
[alerting]
enabled = true

[[alerting.rules]]
name = "login-storm"
condition = "auth_failures"
threshold = 2
window_secs = 600
"""
    s = sks5(webhook(r.url(), ["alert.triggered", "auth.success"]), audit=audit,
             alerting=rules)
    for _ in range(2):
        failed_login(s.port)
    # Two failures are not more than the threshold: nothing fires yet.
    good_login(s.port, echo_server)
    wait_for(lambda: r.events("auth.success"), "the first auth.success")
    assert not r.events("alert.triggered")
    for _ in range(3):
        failed_login(s.port)
    good_login(s.port, echo_server)
    wait_for(lambda: len([e for e in audit_events(audit)
                          if e["event_type"] == "auth.success"]) == 2,
             "the second auth.success in the audit log")
    alerts = [e for e in audit_events(audit) if e["event_type"] == "alert.triggered"]
    assert len(alerts) == 1
    a = alerts[0]
    assert a["alert"] == "login-storm"
    assert a["condition"] == "auth_failures"
    assert a["threshold"] == 2
    assert a["value"] == 3
    assert a["window_secs"] == 600
    assert "username" not in a
    got = wait_for(lambda: r.events("alert.triggered"), "the alert POST")
    assert got[0]["data"]["alert"] == "login-storm"
    wait_for(lambda: len(r.events("auth.success")) == 2, "the second auth.success POST")
    assert len(r.events("alert.triggered")) == 1
    s.wait_log("event=alert.triggered")


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for the private hosts file")
def test_name_resolving_to_loopback_is_refused(sks5, receiver):
    r = receiver()
    # sks5-target.test resolves to 127.0.0.1 in the server's hosts file:
    # the name passes the load-time check, the connect-time one refuses it.
    url = "http://sks5-target.test:%d/hook" % r.port
    hooks = '\n[[webhooks]]\nurl = "%s"\nevents = ["auth.failure"]\n' % url
    s = sks5(hooks)
    failed_login(s.port)
    s.wait_log("event=webhook.blocked", timeout=20)
    assert "127.0.0.0/8" in s.text() or "loopback" in s.text()
    assert r.requests == []


def test_private_url_is_refused_at_load(tmp_path, receiver):
    r = receiver()
    port = free_port()
    hooks = '\n[[webhooks]]\nurl = "http://0x7f000001:%d/"\n' % r.port
    s = Server(tmp_path, config(port, hooks))
    rc = s.proc.wait(timeout=30)
    text = s.text()
    s.errf.close()
    assert rc != 0
    assert "private" in text and "allow_private_ips" in text, text
    assert r.requests == []
