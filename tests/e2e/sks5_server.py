"""Starting the real sks5 binary for end-to-end tests.

Every instance runs inside a private mount namespace (when the tests run as
root) whose /etc/hosts and /etc/resolv.conf are files the test controls, so
that no name is ever looked up through an outside DNS server: names listed
in the hosts file resolve, every other name fails at once against a
loopback nameserver that does not exist."""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import assert_no_sanitizer_report, binary

HOSTS = "127.0.0.1 localhost sks5-target.test\n::1 localhost ip6-localhost v6only.test\n"
RESOLV = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"

_HASHES = {}


def can_isolate_dns():
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def password_hash(password):
    """An Argon2id PHC string from `sks5 hash-password` (cached)."""
    if password not in _HASHES:
        r = subprocess.run([binary(), "hash-password"], input=password + "\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        _HASHES[password] = r.stdout.strip()
    return _HASHES[password]


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One sks5 process with a generated config."""

    def __init__(self, tmp_path, body, isolate=True, args=None):
        """Runs `sks5 -c config.toml` with body as the file, or, when args
        is given, `sks5 ARGS...` (body is then ignored)."""
        self.dir = tmp_path
        self.cfg = tmp_path / "config.toml"
        self.log = tmp_path / "sks5.log"
        if args is None:
            self.cfg.write_text(body)
            os.chmod(self.cfg, 0o600)
            cmd = [binary(), "-c", str(self.cfg)]
        else:
            cmd = [binary()] + list(args)
        if isolate and can_isolate_dns():
            hosts = tmp_path / "hosts"
            resolv = tmp_path / "resolv.conf"
            hosts.write_text(HOSTS)
            resolv.write_text(RESOLV)
            cmd = ["unshare", "-m", "sh", "-c",
                   'mount --bind "$1" /etc/hosts && '
                   'mount --bind "$2" /etc/resolv.conf && shift 2 && exec "$@"',
                   "sh", str(hosts), str(resolv)] + cmd
        self.errf = open(self.log, "w+")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, cwd=str(tmp_path),
                                     stdout=subprocess.DEVNULL, stderr=self.errf)

    def wait_port(self, port, host="127.0.0.1", timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("sks5 exited: " + self.text())
            try:
                socket.create_connection((host, port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("sks5 never listened on %s: %s" % (port, self.text()))

    def text(self):
        self.errf.flush()
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_log(self, needle, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if needle in self.text():
                return
            time.sleep(0.05)
        raise AssertionError("never saw %r in log:\n%s" % (needle, self.text()))

    def stop(self, sig=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("sks5 did not stop: " + self.text())
        text = self.text()
        self.errf.close()
        assert_no_sanitizer_report(text)
        assert "level=error" not in text, text
        return self.proc.returncode
