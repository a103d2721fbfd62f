"""Security policy end to end over SSH (issue 7), with the real OpenSSH
client: per-IP connection rate, ban then unban, expiry and the end of a
time window closing a live session, maintenance (SIGUSR1 and windows),
GeoIP allow/deny of forwarded targets and quotas on channels. The SOCKS5
versions are in test_policy.py. Loopback only; the clocks are real, so
the durations used are short."""
import datetime
import shutil
import signal
import socket
import subprocess
import time

import pytest

from sks5_server import free_port
from test_policy import echo_on_two, geoip_db  # noqa: F401 (fixture)
from test_socks5 import echo_server  # noqa: F401 (fixture)
from test_ssh import USER, PASSWORD, env, pub, source_server  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None,
                                reason="openssh-client missing")


def info_args(env, extra=(), key=True):
    """ssh arguments that show INFO messages (banners, disconnects)."""
    args = env.ssh_args(env.key if key else None, extra)
    return ["LogLevel=INFO" if a == "LogLevel=ERROR" else a for a in args]


def ssh(env, args, cmd="whoami", data=None, timeout=60):
    """Runs ssh with optional stdin data; returns the CompletedProcess."""
    return subprocess.run(args + ["%s@127.0.0.1" % USER] + ([cmd] if cmd else []),
                          input=data, capture_output=True, timeout=timeout,
                          start_new_session=True,
                          stdin=None if data is not None else subprocess.DEVNULL)


class Tunnel:
    """A background `ssh -N -L` whose stderr shows INFO messages."""

    def __init__(self, env, lport, host, port):
        self.lport = lport
        self.proc = subprocess.Popen(
            info_args(env, ["-N", "-o", "ExitOnForwardFailure=yes", "-L",
                            "%d:%s:%d" % (lport, host, port)]) +
            ["%s@127.0.0.1" % USER], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)

    def wait_port(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("ssh exited: %s" % self.proc.stderr.read())
            try:
                socket.create_connection(("127.0.0.1", self.lport),
                                         timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("forward never listened on %d" % self.lport)

    def echo(self, data=b"ping"):
        c = socket.create_connection(("127.0.0.1", self.lport), timeout=20)
        c.sendall(data)
        got = b""
        while len(got) < len(data):
            try:
                d = c.recv(100)
            except ConnectionResetError:
                break
            if not d:
                break
            got += d
        c.close()
        return got

    def wait_exit(self, timeout):
        """1 if ssh ended (the server closed the connection) in time."""
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        return err


def utc_in(seconds):
    return (datetime.datetime.now(datetime.timezone.utc) +
            datetime.timedelta(seconds=seconds))


def window_now():
    """A maintenance schedule that covers now (and a few minutes)."""
    now = utc_in(0)
    a = (now - datetime.timedelta(minutes=1)).strftime("%H:%M")
    b = (now + datetime.timedelta(minutes=3)).strftime("%H:%M")
    return "daily %s-%s" % (a, b)


# ----- before authentication -----

def test_per_ip_rate_counts_tcp_connections(env):
    # Three connections per minute from one address. A public key login
    # makes several authentication requests on its one TCP connection
    # (none, the key query, the signed key): all three logins pass, so the
    # budget is taken per connection, not per request.
    env.start(env.user(keys=[pub(env.key)]),
              security="max_new_connections_per_ip_per_minute = 3")
    src = ["-o", "BindAddress=127.0.0.5"]
    for i in range(3):
        r = ssh(env, env.ssh_args(env.key, src))
        assert r.returncode == 0, (i, r.stderr)
        assert r.stdout.strip() == USER.encode()
    r = ssh(env, env.ssh_args(env.key, src))
    assert r.returncode == 255
    # Closed before the server's identification: no key exchange.
    assert (b"kex_exchange_identification" in r.stderr or
            b"closed by remote host" in r.stderr or
            b"Connection reset" in r.stderr), r.stderr
    env.server.wait_log('peer=127.0.0.5')
    env.server.wait_log('reason="rate"')
    text = env.server.text()
    assert text.count("event=auth.success") == 3, text
    # Another address has its own budget.
    r = ssh(env, env.ssh_args(env.key, ["-o", "BindAddress=127.0.0.6"]))
    assert r.returncode == 0, r.stderr


def test_ban_after_failures_then_unban(env):
    env.start(env.user(), security="ban_threshold = 2\nban_window = 60\n"
              "ban_duration = 3", limits="max_auth_attempts = 5")
    r = env.run(env.pw_args(tries=2), cmd="whoami", password="wrong")
    assert r.returncode == 255
    env.server.wait_log("event=ban.created")
    # Banned: closed before key exchange even with the right password.
    r = env.run(env.pw_args(), cmd="whoami", password=PASSWORD)
    assert r.returncode == 255
    env.server.wait_log('reason="banned"')
    assert env.server.text().count("event=auth.success") == 0
    # After ban_duration the same address logs in again.
    deadline, rc = time.time() + 30, None
    while time.time() < deadline:
        r = env.run(env.pw_args(), cmd="whoami", password=PASSWORD)
        rc = r.returncode
        if rc == 0:
            break
        time.sleep(0.5)
    assert rc == 0, r.stderr
    assert r.stdout.strip() == USER.encode()
    env.server.wait_log("event=auth.success")


# ----- live sessions closed by expiry and by the end of a time window -----

def test_expiry_closes_live_tunnel(env, echo_server):
    exp = utc_in(6).strftime("%Y-%m-%dT%H:%M:%SZ")
    env.start(env.user(keys=[pub(env.key)], more='expires_at = "%s"' % exp))
    t = Tunnel(env, free_port(), "127.0.0.1", echo_server)
    try:
        t.wait_port()
        assert t.echo(b"before") == b"before"
        assert t.wait_exit(30), "the session outlived its account"
    finally:
        err = t.close()
    assert "account expired" in err, err     # SSH_MSG_DISCONNECT text
    env.server.wait_log('reason="account expired"')
    r = ssh(env, env.ssh_args(env.key))
    assert r.returncode == 255


def test_expiry_closes_live_shell(env):
    exp = utc_in(6).strftime("%Y-%m-%dT%H:%M:%SZ")
    env.start(env.user(keys=[pub(env.key)], more='expires_at = "%s"' % exp))
    p = subprocess.Popen(info_args(env, ["-tt"]) + ["%s@127.0.0.1" % USER],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        p.wait(timeout=40)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise AssertionError("the shell outlived its account")
    finally:
        p.stdin.close()
    err = p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    assert p.returncode == 255, err
    assert "account expired" in err, err
    env.server.wait_log('reason="account expired"')


def test_time_window_end_closes_live_tunnel(env, echo_server):
    # access_hours has minute precision: the window is the current minute
    # (the next one too when less than 10 s are left), so the session is
    # closed at the next minute boundary, at most ~70 s from now.
    now = utc_in(0)
    end = (now + datetime.timedelta(minutes=1 if now.second < 50 else 2))
    hours = "%s-%s" % (now.strftime("%H:%M"), end.strftime("%H:%M"))
    env.start(env.user(keys=[pub(env.key)],
                       more='[users.time_access]\naccess_hours = "%s"' % hours))
    t = Tunnel(env, free_port(), "127.0.0.1", echo_server)
    try:
        t.wait_port()
        assert t.echo() == b"ping"
        assert t.wait_exit(150), "the session outlived its window"
    finally:
        err = t.close()
    assert "outside the allowed time window" in err, err
    env.server.wait_log('reason="outside the allowed time window"')


# ----- maintenance -----

DEFAULT_MAINT = "Server is under maintenance"


def test_maintenance_signal_refuses_new_logins(env, echo_server):
    env.start(env.user(keys=[pub(env.key)]))
    t = Tunnel(env, free_port(), "127.0.0.1", echo_server)
    try:
        t.wait_port()
        env.server.proc.send_signal(signal.SIGUSR1)
        env.server.wait_log("event=maintenance.toggled source=signal enabled=true")
        r = ssh(env, info_args(env))
        assert r.returncode == 255
        assert DEFAULT_MAINT.encode() in r.stderr, r.stderr
        env.server.wait_log('reason="maintenance"')
        # Manual maintenance keeps live sessions.
        assert t.echo(b"still") == b"still"
        assert t.proc.poll() is None
        env.server.proc.send_signal(signal.SIGUSR1)
        env.server.wait_log("enabled=false")
        r = ssh(env, env.ssh_args(env.key))
        assert r.returncode == 0, r.stderr
    finally:
        t.close()
    assert "event=auth.success" in env.server.text()


def test_maintenance_window_at_start_refuses(env):
    env.start(env.user(keys=[pub(env.key)]), extra="""
[[maintenance_windows]]
schedule = "%s"
message = "back at noon"
""" % window_now())
    r = ssh(env, info_args(env))
    assert r.returncode == 255
    assert b"back at noon" in r.stderr, r.stderr
    assert "event=auth.success" not in env.server.text()


def test_maintenance_window_disconnects_existing(env, echo_server):
    s = env.start(env.user(keys=[pub(env.key)]))
    t = Tunnel(env, free_port(), "127.0.0.1", echo_server)
    try:
        t.wait_port()
        assert t.echo() == b"ping"
        s.cfg.write_text(s.cfg.read_text() + """
[[maintenance_windows]]
schedule = "%s"
message = "upgrading"
disconnect_existing = true
""" % window_now())
        s.proc.send_signal(signal.SIGHUP)
        s.wait_log("event=config.reload success=true")
        assert t.wait_exit(20), "the session outlived disconnect_existing"
    finally:
        err = t.close()
    assert "upgrading" in err, err
    s.wait_log('reason="upgrading"')
    r = ssh(env, info_args(env))
    assert r.returncode == 255
    assert b"upgrading" in r.stderr, r.stderr


# ----- GeoIP on forwarded targets (127.0.0.2 -> DE, 127.0.0.3 -> US) -----

@pytest.mark.parametrize("rule", ['denied_countries = ["US"]',
                                  'allowed_countries = ["DE"]'])
def test_geoip_allow_and_deny(env, tmp_path, echo_on_two, rule):
    db = geoip_db(tmp_path)
    env.start(env.user(keys=[pub(env.key)]),
              extra='[geoip]\nenabled = true\ndatabase_path = "%s"\n%s\n' % (db, rule))
    # -W: the allowed country echoes, the denied one is a refused channel.
    r = ssh(env, env.ssh_args(env.key, ["-W", "127.0.0.2:%d" % echo_on_two]),
            cmd=None, data=b"de")
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"de"
    r = ssh(env, env.ssh_args(env.key, ["-W", "127.0.0.3:%d" % echo_on_two]),
            cmd=None, data=b"us")
    assert r.returncode == 255
    assert r.stdout == b""
    assert b"forwarding failed" in r.stderr, r.stderr
    env.server.wait_log("GeoIP: country US is")
    # -L: same verdicts per channel on one connection.
    lport = free_port()
    t = Tunnel(env, lport, "127.0.0.2", echo_on_two)
    try:
        t.wait_port()
        assert t.echo(b"de") == b"de"
    finally:
        t.close()
    lport = free_port()
    t = Tunnel(env, lport, "127.0.0.3", echo_on_two)
    try:
        t.wait_port()        # the listener is local; the channel is refused
        assert t.echo(b"us") == b""
        assert t.proc.poll() is None     # a refused channel, not a closed login
    finally:
        t.close()


# ----- quotas on channels -----

def test_total_quota_cuts_channel_then_refuses(env, source_server):
    # -W: the request byte goes up, the rest of the quota comes down; the
    # channel is cut at the limit and the next one refused.
    source_server["size"] = 1000000
    env.start(env.user(keys=[pub(env.key)],
                       more="[users.quotas]\ntotal_bandwidth_bytes = 60000\n"))
    r = ssh(env, env.ssh_args(env.key, ["-W", "127.0.0.1:%d" % source_server["port"]]),
            cmd=None, data=b"g", timeout=60)
    assert len(r.stdout) == 60000 - 1, (len(r.stdout), r.stderr)
    env.server.wait_log("event=quota.exceeded proto=ssh")
    r = ssh(env, env.ssh_args(env.key, ["-W", "127.0.0.1:%d" % source_server["port"]]),
            cmd=None, data=b"g", timeout=30)
    assert r.returncode == 255
    assert r.stdout == b""
    env.server.wait_log("total bandwidth quota exceeded")
    # The login itself still works: the quota refuses streams, not shells.
    r = ssh(env, env.ssh_args(env.key))
    assert r.returncode == 0, r.stderr
