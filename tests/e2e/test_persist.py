"""Persistence end to end ([persistence], server.bookmarks_path): bans and
quota usage survive a SIGTERM and a new start on the same data directory,
shell history and bookmarks survive too, a corrupt state file is set
aside and logged while the server starts, two servers cannot share one
data directory, and config history keeps each applied configuration.
Loopback only."""
import json
import os
import shutil
import signal
import stat
import subprocess
import time
import urllib.request

import pytest

from conftest import binary
from sks5_server import Server, free_port, password_hash
from test_policy import login, request, socks
from test_socks5 import USER, PASSWORD, echo_server  # noqa: F401 (fixture)


def socks_cfg(port, metrics_port, extra_user="", extra=""):
    return """
[server]
socks5_listen = "127.0.0.1:%d"
workers = 1
shutdown_timeout = 2

[limits]
socks5_handshake_timeout = 5

[security]
ip_guard_enabled = false
ban_threshold = 2
ban_window = 600
ban_duration = 3600

[metrics]
enabled = true
listen = "127.0.0.1:%d"

%s

[[users]]
username = "%s"
password_hash = "%s"
%s
""" % (port, metrics_port, extra, USER, password_hash(PASSWORD), extra_user)


def start(tmp_path, body, port):
    s = Server(tmp_path, body)
    s.wait_port(port)
    return s


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=10) as r:
        return r.read().decode()


def sample(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in metrics" % name)


QUOTA = "[users.quotas]\ndaily_connection_limit = 1\n"


def test_ban_and_quota_survive_restart(tmp_path, echo_server):
    port, mport = free_port(), free_port()
    body = socks_cfg(port, mport, QUOTA)
    s = start(tmp_path, body, port)
    s.wait_port(mport)
    # One stream: the daily connection quota (1) is used up.
    c, rep = socks(port, echo_server)
    assert rep == 0
    c.close()
    # Two failures from 127.0.0.2 ban it.
    for _ in range(2):
        c, st = login(port, password="wrong", src="127.0.0.2")
        assert st == "authfail"
        c.close()
    s.wait_log("event=ban.created")
    assert sample(metrics(mport), "sks5_persistence_available") == 1
    assert s.stop() == 0
    # SIGTERM wrote both into state.json.
    state = json.loads((tmp_path / "data" / "state.json").read_text())
    assert [b["ip"] for b in state["bans"]] == ["127.0.0.2"]
    q = [x for x in state["quotas"] if x["user"] == USER]
    assert q and q[0]["day_connections"] == 1
    assert stat.S_IMODE(os.stat(tmp_path / "data").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "data" / "state.json").st_mode) == 0o600

    s = start(tmp_path, body, port)
    s.wait_log("event=persist.load")
    assert "bans=1 quotas=1" in s.text()
    # Still banned: "05 FF" even with the right password.
    c, st = login(port, src="127.0.0.2")
    assert st == "noauth"
    c.close()
    # The quota is still used up: the request is refused (0x02).
    c, st = login(port)
    assert st == "ok"
    assert request(c, echo_server) == 2
    c.close()
    s.wait_log("daily connection quota exceeded")
    text = metrics(mport)
    assert sample(text, "sks5_persistence_available") == 1
    assert sample(text, "sks5_persistence_corrupt_files_total") == 0
    assert s.stop() == 0


def test_quota_counters_of_a_past_day_start_fresh(tmp_path, echo_server):
    port, mport = free_port(), free_port()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    day = int(time.time() // 86400) - 3
    (data / "state.json").write_text(json.dumps({
        "format": 1, "saved_at_ms": 0, "bans": [
            {"ip": "127.0.0.3", "until_ms": 1000}],   # long over
        "quotas": [{"user": USER, "day": day, "day_bytes": 5,
                    "day_connections": 1, "month": 0, "month_bytes": 5,
                    "month_connections": 1, "total_bytes": 5, "hour": []}]}))
    s = start(tmp_path, socks_cfg(port, mport, QUOTA), port)
    s.wait_log("event=persist.load")
    assert "bans=0 quotas=1" in s.text()
    c, rep = socks(port, echo_server)   # yesterday's count does not apply
    assert rep == 0
    c.close()
    c, st = login(port, src="127.0.0.3")  # the expired ban is gone
    assert st == "ok"
    c.close()
    assert s.stop() == 0
    state = json.loads((data / "state.json").read_text())
    q = [x for x in state["quotas"] if x["user"] == USER][0]
    assert q["day_connections"] == 1 and q["total_bytes"] >= 5


@pytest.mark.parametrize("garbage", [b"{not json", b"[]",
                                     b'{"format":1,"bans":[{"ip":"x","until_ms":1}]}',
                                     b'{"format":1,"bans":[],"bans":[]}'])
def test_corrupt_state_file_is_set_aside(tmp_path, garbage):
    port, mport = free_port(), free_port()
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "state.json").write_bytes(garbage)
    s = start(tmp_path, socks_cfg(port, mport), port)
    s.wait_log("event=persist.corrupt")
    assert (data / "state.json.corrupt").read_bytes() == garbage
    s.wait_port(mport)
    assert sample(metrics(mport), "sks5_persistence_corrupt_files_total") == 1
    c, st = login(port)
    assert st == "ok"
    c.close()
    assert s.stop() == 0
    # The next write is a valid file again.
    assert json.loads((data / "state.json").read_text())["format"] == 1


def test_data_dir_is_locked(tmp_path):
    port, mport = free_port(), free_port()
    s = start(tmp_path, socks_cfg(port, mport), port)
    other = tmp_path / "other"
    other.mkdir()
    cfgf = other / "config.toml"
    cfgf.write_text(socks_cfg(free_port(), free_port()))
    os.chmod(cfgf, 0o600)
    r = subprocess.run([binary(), "-c", str(cfgf),
                        "--data-dir", str(tmp_path / "data")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "another sks5 instance is using data directory" in r.stderr
    assert s.stop() == 0


def test_unusable_data_dir_is_a_start_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cfgf = tmp_path / "config.toml"
    cfgf.write_text(socks_cfg(free_port(), free_port()))
    os.chmod(cfgf, 0o600)
    r = subprocess.run([binary(), "-c", str(cfgf), "--data-dir",
                        str(blocker / "data")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "event=persist.open" in r.stderr and "cannot create" in r.stderr


def test_config_history_keeps_applied_versions(tmp_path):
    port, mport = free_port(), free_port()
    extra = "[persistence.config_history]\nmax_entries = 2\n"
    s = start(tmp_path, socks_cfg(port, mport, extra=extra), port)
    hist = tmp_path / "data" / "config-history"

    def copies():
        # Finished copies only: a "<name>.tmp" is a copy being written.
        return sorted(p for p in hist.iterdir() if p.name.endswith(".toml"))

    for i in range(3):
        s.cfg.write_text(socks_cfg(port, mport, extra=extra) + "\n# v%d\n" % i)
        s.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 15
        while time.time() < deadline:
            files = copies()
            # Done when the newest copy is this version and the oldest
            # beyond max_entries is gone.
            if (files and files[-1].read_text().endswith("# v%d\n" % i)
                    and len(files) <= 2):
                break
            time.sleep(0.1)
        assert files[-1].read_text().endswith("# v%d\n" % i)
    files = [p.name for p in copies()]
    assert len(files) == 2, files
    assert (hist / files[0]).read_text().endswith("# v1\n")
    assert stat.S_IMODE(os.stat(hist / files[0]).st_mode) == 0o600
    assert s.stop() == 0


# ---- SSH shell: history, bookmarks, aliases ----

ssh_missing = shutil.which("ssh") is None


def interactive(env, lines):
    """Types lines into an interactive shell over a pty, then exits."""
    import pty
    import select
    from test_ssh import USER as SSH_USER
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp("ssh", env.ssh_args(env.key, ["-tt"]) +
                  ["%s@127.0.0.1" % SSH_USER])
    out = b""

    def read_until(needle, t=20):
        nonlocal out
        end = time.time() + t
        while needle not in out and time.time() < end:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return
        assert needle in out, out

    try:
        read_until(b"$ ")
        for line in lines:
            mark = len(out)
            os.write(fd, line.encode() + b"\r")
            end = time.time() + 20
            while out[mark:].count(b"$ ") < 1 and time.time() < end:
                r, _, _ = select.select([fd], [], [], 0.1)
                if r:
                    out += os.read(fd, 65536)
        os.write(fd, b"exit\r")
        read_until(b"logout")
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.WEXITSTATUS(status) == 0
    return out


@pytest.mark.skipif(ssh_missing, reason="openssh-client missing")
@pytest.mark.parametrize("bm_file", [False, True])
def test_shell_history_and_bookmarks_survive_restart(tmp_path, bm_file):
    from test_ssh import Env, pub
    env = Env(tmp_path)
    bm_path = tmp_path / "bm" / "bookmarks.json"
    if bm_file:
        bm_path.parent.mkdir()
    server_extra = 'bookmarks_path = "%s"\n' % bm_path if bm_file else ""
    users = env.user(keys=[pub(env.key)])
    env.start(users, server_extra=server_extra)
    interactive(env, ["echo persisted-marker-1", "whoami"])
    r = env.run(env.ssh_args(env.key), cmd="bookmark add web sks5-target.test:80")
    assert r.returncode == 0, r
    r = env.run(env.ssh_args(env.key), cmd="alias add ll=whoami")
    assert r.returncode == 0, r
    env.stop()
    data = tmp_path / "data"
    saved = json.loads((data / "users" / "alice.json").read_text())
    assert saved["user"] == "alice"
    assert "echo persisted-marker-1" in saved["history"]
    assert saved["aliases"] == {"ll": "whoami"}
    if bm_file:
        assert "bookmarks" not in saved
        bm = json.loads(bm_path.read_text())
        assert bm["users"] == {"alice": {"web": "sks5-target.test:80"}}
        assert stat.S_IMODE(os.stat(bm_path).st_mode) == 0o600
    else:
        assert saved["bookmarks"] == {"web": "sks5-target.test:80"}

    env.start(users, server_extra=server_extra)
    r = env.run(env.ssh_args(env.key), cmd="history")
    assert r.returncode == 0, r
    assert b"echo persisted-marker-1" in r.stdout and b"whoami" in r.stdout
    r = env.run(env.ssh_args(env.key), cmd="bookmark list")
    assert b"web" in r.stdout and b"sks5-target.test:80" in r.stdout, r.stdout
    r = env.run(env.ssh_args(env.key), cmd="ll")
    assert r.stdout == b"alice\r\n", r.stdout
    env.stop()
