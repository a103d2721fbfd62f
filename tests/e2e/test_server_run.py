"""The default run: load the configuration, reload it on SIGHUP (keeping the
old one when the new file is invalid), stop with exit 0 on SIGTERM/SIGINT."""
import os
import signal
import subprocess
import time

import pytest

from conftest import assert_no_sanitizer_report, binary

# A fixed, valid Argon2id PHC string (password "secret"), so the test does
# not depend on hash-password.
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$W9KzYoDX6/9ojtWsOdp0cqGimpdV/hUbSYqTPBwaSNo"


def write_config(path, users=("alice",), extra=""):
    body = "[logging]\nlevel = \"info\"\n" + extra
    for u in users:
        body += '\n[[users]]\nusername = "%s"\npassword_hash = "%s"\n' % (u, HASH)
    path.write_text(body)
    os.chmod(path, 0o600)


def wait_for(proc, needle, timeout=10.0):
    """Reads stderr lines until one contains needle; returns all read."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError("never saw %r in:\n%s" % (needle, "".join(seen)))


def start(cfg):
    return subprocess.Popen([binary(), "-c", str(cfg)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, sig):
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=15)
    assert_no_sanitizer_report(err)
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_exits_zero(tmp_path, sig):
    cfg = tmp_path / "config.toml"
    write_config(cfg)
    p = start(cfg)
    wait_for(p, "event=start")
    rc, err = finish(p, sig)
    assert rc == 0, err
    assert "event=stopped" in err


def test_sighup_reloads_and_keeps_old_config_on_error(tmp_path):
    cfg = tmp_path / "config.toml"
    write_config(cfg)
    p = start(cfg)
    try:
        wait_for(p, "event=start")
        write_config(cfg, users=("alice", "bob"))
        p.send_signal(signal.SIGHUP)
        text = wait_for(p, "event=config.reload")
        assert "success=true" in text and "users=2" in text
        cfg.write_text("[server\nbroken = \n")
        p.send_signal(signal.SIGHUP)
        text = wait_for(p, "success=false")
        assert p.poll() is None, "server died on an invalid reload"
    finally:
        rc, err = finish(p, signal.SIGTERM)
    assert rc == 0


def test_missing_config_fails_without_writing_one(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKS5_")}
    r = subprocess.run([binary()], cwd=tmp_path, capture_output=True, text=True,
                       env=env, timeout=20)
    assert r.returncode == 1
    assert "init" in r.stderr
    assert os.listdir(tmp_path) == [], "a config file was written"
    assert_no_sanitizer_report(r.stderr)


def test_invalid_config_is_refused_with_position(tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[users]]\nusername = "a"\npassword_hash = "%s"\nbogus_key = 1\n' % HASH)
    r = subprocess.run([binary(), "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert "config.toml:4:" in r.stderr
    assert_no_sanitizer_report(r.stderr)
