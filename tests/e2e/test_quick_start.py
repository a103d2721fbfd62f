"""`sks5 quick-start`: a server from flags alone, driven by real clients."""
import os
import re
import stat
import subprocess

from conftest import binary
from sks5_server import Server, free_port
from test_socks5 import echo_server, recv_exact, socks_connect  # noqa: F401


def start(tmp_path, *extra):
    port, sport = free_port(), free_port()
    s = Server(tmp_path, None, args=["quick-start", "--socks5-listen",
                                     "127.0.0.1:%d" % port, "--ssh-listen",
                                     "127.0.0.1:%d" % sport] + list(extra))
    s.port = port
    s.ssh_port = sport
    s.wait_port(port)
    s.wait_port(sport)
    return s


def test_ssh_login_with_generated_password(tmp_path):
    s = start(tmp_path)
    pw = re.search(r"password: (\S+)\s+\(generated", s.text()).group(1)
    assert ("ssh -N -D 127.0.0.1:1081 -p %d user@127.0.0.1" % s.ssh_port
            in s.text())
    askpass = tmp_path / "askpass.sh"
    askpass.write_text("#!/bin/sh\nprintf '%s\\n' \"$QS_PW\"\n")
    os.chmod(askpass, 0o700)
    env = dict(os.environ, SSH_ASKPASS=str(askpass),
               SSH_ASKPASS_REQUIRE="force", DISPLAY=":0", QS_PW=pw)
    r = subprocess.run(
        ["ssh", "-p", str(s.ssh_port), "-F", "/dev/null",
         "-o", "UserKnownHostsFile=/dev/null",
         "-o", "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR",
         "-o", "PreferredAuthentications=password",
         "-o", "PubkeyAuthentication=no",
         "-o", "NumberOfPasswordPrompts=1",
         "user@127.0.0.1", "whoami"],
        capture_output=True, timeout=60, env=env,
        stdin=subprocess.DEVNULL, start_new_session=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == "user"
    # the host key was generated next to where quick-start ran, mode 0600
    key = tmp_path / "host_key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert s.stop() == 0


def test_generated_password_works_and_guard_is_on(tmp_path, echo_server):
    s = start(tmp_path, "--username", "qs")
    m = re.search(r"password: (\S+)\s+\(generated", s.text())
    assert m, s.text()
    pw = m.group(1)
    assert len(pw) == 20 and pw.isalnum()
    assert "$argon2" not in s.text()          # never the hash
    # anti-SSRF is on by default: loopback targets are refused (0x02)
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server,
                              user="qs", password=pw)
    assert rep == 2
    c.close()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server,
                              user="qs", password=pw + "x")
    assert rep == "authfail"
    c.close()
    assert s.stop() == 0


def test_given_password_not_printed_and_set_override(tmp_path, echo_server):
    s = start(tmp_path, "--password", "quick start pw",
              "--set", "security.ip_guard_enabled=false")
    assert "quick start pw" not in s.text()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server,
                              user="user", password="quick start pw")
    assert rep == 0
    c.sendall(b"ping")
    assert recv_exact(c, 4) == b"ping"
    c.close()
    assert s.stop() == 0


def test_save_config(tmp_path):
    s = start(tmp_path, "--password", "pw1", "--save-config", "saved.toml")
    path = tmp_path / "saved.toml"
    assert s.stop() == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "pw1" not in text and "$argon2id$" in text
    r = subprocess.run([binary(), "-c", str(path), "check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    # never replaces an existing file
    r = subprocess.run([binary(), "quick-start", "--password", "pw1",
                        "--socks5-listen", "127.0.0.1:%d" % free_port(),
                        "--save-config", str(path)],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "already exists" in r.stderr


def test_argon2_cost_from_set(tmp_path, echo_server):
    """--set security.argon2_* gives the cost of the generated hash, and
    the password still logs in."""
    s = start(tmp_path, "--password", "pw cost",
              "--set", "security.argon2_time_cost=3",
              "--set", "security.argon2_memory_cost=1024",
              "--set", "security.ip_guard_enabled=false",
              "--save-config", "saved.toml")
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server,
                              user="user", password="pw cost")
    assert rep == 0
    c.close()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server,
                              user="nobody", password="pw cost")
    assert rep == "authfail"
    c.close()
    assert s.stop() == 0
    text = (tmp_path / "saved.toml").read_text()
    assert "$argon2id$v=19$m=1024,t=3,p=1$" in text
    r = subprocess.run([binary(), "quick-start", "--password", "x",
                        "--socks5-listen", "127.0.0.1:%d" % free_port(),
                        "--set", "security.argon2_parallelism=2"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert "security.argon2_parallelism: must be 1" in r.stderr


def test_bad_address_is_a_clear_error(tmp_path):
    r = subprocess.run([binary(), "quick-start", "--password", "x",
                        "--socks5-listen", "nonsense"],
                       capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert "socks5_listen" in r.stderr
