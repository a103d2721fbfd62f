"""The admin shell command and shell idle warnings, end to end: the real
OpenSSH client against the real binary on loopback. alice is an admin
(by her own role), carol one through her group, bob a plain user."""
import json
import os
import select
import shutil
import socket
import subprocess
import time

import pytest

from conftest import binary
from sks5_server import free_port
from test_socks5 import echo_server  # noqa: F401 (fixture)
from test_ssh import Env, keygen, pub

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None,
                                reason="openssh-client missing")

BOB_PW = "bob password"


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    e.bob_key = tmp_path / "id_bob"
    keygen(e.bob_key)
    yield e
    e.stop()


def users(env, bob_more=""):
    return (env.user("alice", keys=[pub(env.key)], more='role = "admin"\n') +
            env.user("bob", password=BOB_PW, keys=[pub(env.bob_key)],
                     more=bob_more) +
            env.user("carol", keys=[pub(env.key)], more='group = "ops"\n') +
            '[[groups]]\nname = "ops"\nrole = "admin"\n')


def admin(env, cmd, user="alice", key=None):
    return env.run(env.ssh_args(key or env.key), user=user, cmd=cmd)


class Pty:
    """An interactive `ssh -tt` on a pty."""

    def __init__(self, env, user, key):
        import pty
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp("ssh", env.ssh_args(key, ["-tt"]) +
                      ["%s@127.0.0.1" % user])
        self.out = b""
        self.status = None

    def read_until(self, needle, t=30):
        end = time.time() + t
        while needle not in self.out and time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.1)
            if r:
                try:
                    d = os.read(self.fd, 65536)
                except OSError:
                    break
                if not d:
                    break
                self.out += d
        assert needle in self.out, self.out

    def write(self, b):
        os.write(self.fd, b)

    def wait(self, t=30):
        end = time.time() + t
        while time.time() < end:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid != 0:
                self.status = os.WEXITSTATUS(status)
                return self.status
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.out += os.read(self.fd, 65536)
            except OSError:
                time.sleep(0.05)
        raise AssertionError("ssh never exited: %r" % self.out)

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, 15)
            except ProcessLookupError:
                pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        os.close(self.fd)


def test_admin_exec_and_permissions(env):
    env.start(users(env))
    r = admin(env, "admin users")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert "USER" in out and "TRANSFERRED" in out, out
    assert "alice" in out and "bob" in out and "carol" in out, out
    line = [ln for ln in out.splitlines() if ln.startswith("carol")][0]
    assert "admin" in line and "ops" in line, out
    r = admin(env, "admin server")
    assert r.returncode == 0, r.stderr
    assert b"Users:            3 configured" in r.stdout, r.stdout
    assert b"SSH connections:  1" in r.stdout, r.stdout
    # The role from the group is enough.
    r = admin(env, "admin server", user="carol")
    assert r.returncode == 0, r.stderr
    # A plain user: permission denied, exit status 1, not in help.
    r = admin(env, "admin users", user="bob", key=env.bob_key)
    assert r.returncode == 1, r
    assert b"admin: permission denied" in r.stdout, r.stdout
    r = admin(env, "help", user="bob", key=env.bob_key)
    assert r.returncode == 0 and b"admin" not in r.stdout, r.stdout
    r = admin(env, "help")
    assert b"Administration:" in r.stdout, r.stdout
    r = admin(env, "show status")
    assert b"Role:        admin" in r.stdout, r.stdout
    r = admin(env, "show status", user="bob", key=env.bob_key)
    assert b"Role:        user" in r.stdout, r.stdout
    r = admin(env, "admin frobnicate")
    assert r.returncode == 1 and b"Usage: admin" in r.stdout


def test_kick_closes_forward(env, echo_server, tmp_path):
    audit = tmp_path / "audit.jsonl"
    env.start(users(env), extra='[logging]\naudit_log_path = "%s"\n' % audit)
    lport = free_port()
    fwd = subprocess.Popen(
        env.ssh_args(env.bob_key, ["-N", "-o", "ExitOnForwardFailure=yes",
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
        # The live stream is listed with its target.
        target = b"127.0.0.1:%d" % echo_server
        r = None
        for _ in range(100):
            r = admin(env, "admin sessions")
            if target in r.stdout:
                break
            time.sleep(0.1)
        assert r.returncode == 0 and target in r.stdout, r.stdout
        assert b"bob" in r.stdout and b"(ssh)" in r.stdout, r.stdout
        r = admin(env, "admin kick bob")
        assert r.returncode == 0, r.stdout
        assert b"Kicked bob: 1 SSH connection closing" in r.stdout, r.stdout
        fwd.wait(timeout=30)        # the ssh -N client is gone
        c.settimeout(20)
        assert c.recv(10) == b""    # and so is the stream
        c.close()
    finally:
        if fwd.poll() is None:
            fwd.kill()
            fwd.wait()
    env.server.wait_log("event=session.kicked")
    env.server.wait_log("outcome=kicked")
    env.server.wait_log("event=admin.kick")
    r = admin(env, "admin kick bob")     # nobody left to kick
    assert r.returncode == 1 and b"no live SSH session" in r.stdout
    r = admin(env, "admin kick nobody")
    assert r.returncode == 1 and b"unknown user" in r.stdout
    r = admin(env, "admin kick bob", user="bob", key=env.bob_key)
    assert r.returncode == 1
    env.stop()
    env.server = None
    events = [json.loads(ln) for ln in audit.read_text().splitlines()]
    kicks = [e for e in events if e.get("event_type") == "admin.kick"]
    assert kicks and kicks[0]["username"] == "alice", events
    assert kicks[0]["target"] == "bob" and kicks[0]["count"] == 1, kicks


def test_kick_tells_the_shell(env):
    env.start(users(env))
    p = Pty(env, "bob", env.bob_key)
    try:
        p.read_until(b"$ ")
        # The MOTD shows the role.
        role = [ln for ln in p.out.split(b"\n") if b"Role:" in ln]
        assert role and b"user" in role[0], p.out
        r = admin(env, "admin kick bob")
        assert r.returncode == 0, r.stdout
        p.read_until(b"Kicked by administrator.")
        p.wait()
    finally:
        p.close()


def test_unban_lets_the_address_in(env):
    env.start(users(env), security="ban_enabled = true\nban_threshold = 2",
              limits="max_auth_attempts = 5")
    src = ["-o", "BindAddress=127.0.0.2"]
    r = env.run(env.pw_args(tries=3) + src, user="bob", cmd="whoami",
                password="wrong")
    assert r.returncode == 255
    env.server.wait_log("event=ban.created")
    r = env.run(env.pw_args() + src, user="bob", cmd="whoami", password=BOB_PW)
    assert r.returncode == 255           # banned, even with the password
    r = admin(env, "admin bans")         # alice comes from 127.0.0.1
    assert r.returncode == 0 and b"127.0.0.2" in r.stdout, r.stdout
    assert b"(in " in r.stdout, r.stdout
    r = admin(env, "admin unban 127.0.0.9")
    assert r.returncode == 1 and b"not banned" in r.stdout
    r = admin(env, "admin unban 127.0.0.2")
    assert r.returncode == 0 and b"Unbanned 127.0.0.2" in r.stdout, r.stdout
    r = env.run(env.pw_args() + src, user="bob", cmd="whoami", password=BOB_PW)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"bob\r\n"
    r = admin(env, "admin bans")
    assert b"No active bans" in r.stdout, r.stdout
    env.server.wait_log("event=admin.unban")


def test_quota_reset(env, echo_server):
    env.start(users(env, bob_more="[users.quotas]\ndaily_connection_limit = 1\n"))

    def one_stream():
        """Runs one stream through `ssh -W`; True when it echoed."""
        r = subprocess.run(
            env.ssh_args(env.bob_key, ["-W", "127.0.0.1:%d" % echo_server]) +
            ["bob@127.0.0.1"], input=b"hi", capture_output=True, timeout=60,
            start_new_session=True)
        return r.stdout.startswith(b"hi")

    assert one_stream()
    assert not one_stream()              # the daily quota is used up
    r = admin(env, "admin quota reset bob")
    assert r.returncode == 0 and b"Quotas of bob reset" in r.stdout, r.stdout
    assert one_stream()
    r = admin(env, "admin quota reset nobody")
    assert r.returncode == 1


def test_idle_warning_then_disconnect(env):
    env.start(users(env, bob_more="idle_warning_secs = 3\n"),
              limits="idle_timeout = 6")
    p = Pty(env, "bob", env.bob_key)
    try:
        p.read_until(b"$ ")
        p.write(b"who")                 # typed, not entered
        p.read_until(b"who")
        p.out = b""
        p.read_until(b"sks5: idle for ")
        p.read_until(b"s; disconnecting in ")
        # The prompt and the pending input come back after the warning.
        p.read_until(b"$ who")
        # A keystroke resets the clock: the line still works.
        p.write(b"ami\r")
        p.read_until(b"bob\r\n")
        p.out = b""
        p.read_until(b"disconnecting in ")   # warned again
        p.read_until(b"sks5: idle for ")
        p.read_until(b"disconnecting\r\n")
        p.wait()
    finally:
        p.close()
    env.server.wait_log("event=session.idle")


def test_idle_warning_must_precede_timeout(env, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[server]\nssh_listen = "127.0.0.1:0"\n'
                   '[limits]\nidle_timeout = 10\nidle_warning_secs = 10\n' +
                   env.user("bob", password=BOB_PW))
    os.chmod(cfg, 0o600)
    r = subprocess.run([binary(), "check-config", "-c", str(cfg)],
                       capture_output=True, timeout=30)
    assert r.returncode != 0
    assert (b"limits.idle_warning_secs: must be less than limits.idle_timeout"
            in r.stdout + r.stderr), r
