"""SOCKS5 CONNECT end to end: the real binary, curl and a raw Python client,
loopback only."""
import hashlib
import http.server
import os
import shutil
import socket
import struct
import subprocess
import threading

import pytest

from sks5_server import Server, can_isolate_dns, free_port, password_hash

USER, PASSWORD = "alice", "correct horse"


def config(port, extra_sec="", guard=False, extra=""):
    return """
[server]
socks5_listen = "127.0.0.1:%d"
workers = 2
shutdown_timeout = 5

[limits]
socks5_handshake_timeout = 5
connection_timeout = 3

[security]
ip_guard_enabled = %s
%s

%s

[[users]]
username = "%s"
password_hash = "%s"
""" % (port, "true" if guard else "false", extra_sec, extra, USER, password_hash(PASSWORD))


@pytest.fixture
def echo_server():
    """A TCP server on 127.0.0.1 that echoes until the client half-closes,
    then answers 'bye' and closes."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    stop = threading.Event()

    def handle(c):
        # A proxy may reset the target side on purpose (a quota cut, a
        # kick): that ends this connection, not the test.
        with c:
            try:
                while True:
                    d = c.recv(65536)
                    if not d:
                        c.sendall(b"bye")
                        return
                    c.sendall(d)
            except ConnectionError:
                return

    def loop():
        ls.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield ls.getsockname()[1]
    stop.set()
    t.join()
    ls.close()


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_text("hello through sks5\n")

    class H(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def sks5(tmp_path):
    started = []

    def start(extra_sec="", guard=False, extra=""):
        port = free_port()
        s = Server(tmp_path, config(port, extra_sec, guard, extra))
        s.port = port
        s.wait_port(port)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def socks_connect(port, target_atyp, target, tport, user=USER, password=PASSWORD,
                  methods=b"\x02"):
    """Runs the handshake; returns (socket, reply code, bnd tuple)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x05" + bytes([len(methods)]) + methods)
    ver, m = recv_exact(s, 2)
    assert ver == 5
    if m == 0xFF:
        return s, "noauth", None
    assert m == 2
    u, p = user.encode(), password.encode()
    s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    av, st = recv_exact(s, 2)
    assert av == 1
    if st != 0:
        return s, "authfail", None
    if target_atyp == 1:
        addr = socket.inet_aton(target)
    elif target_atyp == 4:
        addr = socket.inet_pton(socket.AF_INET6, target)
    else:
        addr = bytes([len(target)]) + target.encode()
    s.sendall(b"\x05\x01\x00" + bytes([target_atyp]) + addr + struct.pack(">H", tport))
    hdr = recv_exact(s, 4)
    assert hdr[0] == 5
    if hdr[3] == 1:
        bnd = socket.inet_ntoa(recv_exact(s, 4))
    elif hdr[3] == 4:
        bnd = socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
    else:
        raise AssertionError("bad BND type %d" % hdr[3])
    bport = struct.unpack(">H", recv_exact(s, 2))[0]
    return s, hdr[1], (bnd, bport)


def curl(args):
    return subprocess.run(["curl", "-sS", "--max-time", "20", "--noproxy", ""] + args,
                          capture_output=True, text=True, timeout=30)


def test_curl_socks5_hostname(sks5, http_server):
    s = sks5()
    r = curl(["--socks5-hostname", "127.0.0.1:%d" % s.port,
              "--proxy-user", "%s:%s" % (USER, PASSWORD),
              "http://localhost:%d/hello.txt" % http_server])
    assert r.returncode == 0, r.stderr + s.text()
    assert r.stdout == "hello through sks5\n"
    s.wait_log("event=proxy.complete")
    assert "user=alice" in s.text()


def test_curl_socks5_local_resolve(sks5, http_server):
    s = sks5()
    r = curl(["--socks5", "127.0.0.1:%d" % s.port,
              "--proxy-user", "%s:%s" % (USER, PASSWORD),
              "http://127.0.0.1:%d/hello.txt" % http_server])
    assert r.returncode == 0, r.stderr
    assert r.stdout == "hello through sks5\n"


def test_wrong_password_is_refused(sks5, echo_server):
    s = sks5()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server, password="nope")
    assert rep == "authfail"
    c.close()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server, user="mallory")
    assert rep == "authfail"
    c.close()
    s.wait_log("event=auth.failure")


@pytest.mark.parametrize("ttl", [None, 0])
def test_auth_cache(sks5, echo_server, ttl):
    s = sks5(extra_sec="" if ttl is None else "auth_cache_ttl = %d" % ttl)
    for _ in range(3):
        c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
        assert rep == 0
        c.close()
    # a remembered success never lets a wrong password in
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server,
                              password=PASSWORD + "x")
    assert rep == "authfail"
    c.close()
    s.wait_log("event=auth.failure")
    cached = s.text().count("cached=1")
    assert cached == (2 if ttl is None else 0), s.text()


@pytest.mark.parametrize("on", [True, False])
def test_connection_flow_logs(sks5, echo_server, on):
    s = sks5(extra="[logging]\nconnection_flow_logs = %s\n" %
             ("true" if on else "false"))
    c, rep, _ = socks_connect(s.port, 3, "sks5-target.test", echo_server)
    assert rep == 0
    c.sendall(b"x")
    assert recv_exact(c, 1) == b"x"
    c.close()
    s.wait_log("event=proxy.complete")
    if on:
        s.wait_log("step=relay_end")
        for step in ("step=accept", "step=auth result=ok",
                     "step=request cmd=1 target=sks5-target.test:%d"
                     % echo_server, "step=resolved", "step=allowed",
                     "step=connect outcome="):
            assert step in s.text(), step
    else:
        assert "event=flow" not in s.text()


def test_no_acceptable_method(sks5):
    s = sks5()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", 1, methods=b"\x00")
    assert rep == "noauth"
    c.close()


@pytest.mark.parametrize("size", [0, 1, 1000, 65536, 200000])
def test_payload_roundtrip_and_half_close(sks5, echo_server, size):
    s = sks5()
    c, rep, bnd = socks_connect(s.port, 1, "127.0.0.1", echo_server)
    assert rep == 0
    assert bnd[0] == "127.0.0.1" and bnd[1] != echo_server and bnd[1] > 0
    data = os.urandom(size)
    got = bytearray()

    def reader():
        while True:
            d = c.recv(65536)
            if not d:
                return
            got.extend(d)

    t = threading.Thread(target=reader)
    t.start()
    c.sendall(data)
    c.shutdown(socket.SHUT_WR)   # our FIN must reach the target...
    t.join(20)
    c.close()
    # ...and the target's answer after it must still come back.
    assert bytes(got) == data + b"bye"


def test_ipv6_target(sks5, tmp_path):
    try:
        ls = socket.socket(socket.AF_INET6)
        ls.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    ls.listen(1)
    port = ls.getsockname()[1]
    s = sks5()
    c, rep, bnd = socks_connect(s.port, 4, "::1", port)
    assert rep == 0
    assert bnd[0] == "::1"
    a, _ = ls.accept()
    a.sendall(b"v6!")
    assert recv_exact(c, 3) == b"v6!"
    a.close()
    c.close()
    ls.close()


def test_refused_port_gives_0x05(sks5):
    s = sks5()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", free_port())
    assert rep == 5
    c.close()


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_unknown_name_gives_0x04(sks5):
    s = sks5()
    c, rep, _ = socks_connect(s.port, 3, "not-in-hosts.test", 80)
    assert rep == 4
    c.close()


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_name_from_hosts_file(sks5, echo_server):
    s = sks5()
    c, rep, _ = socks_connect(s.port, 3, "sks5-target.test", echo_server)
    assert rep == 0
    c.sendall(b"ping")
    assert recv_exact(c, 4) == b"ping"
    c.close()


def test_unsupported_command_and_atyp(sks5):
    s = sks5()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    u, p = USER.encode(), PASSWORD.encode()
    c.sendall(b"\x05\x01\x02" + b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    assert recv_exact(c, 4) == b"\x05\x02\x01\x00"
    c.sendall(b"\x05\x02\x00\x01\x7f\x00\x00\x01\x00\x50")   # BIND
    assert recv_exact(c, 2) == b"\x05\x07"
    c.close()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    c.sendall(b"\x05\x01\x02" + b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    assert recv_exact(c, 4) == b"\x05\x02\x01\x00"
    c.sendall(b"\x05\x01\x00\x09\x00\x50")   # ATYP 9
    assert recv_exact(c, 2) == b"\x05\x08"
    c.close()


def test_ssrf_guard_refuses_loopback(sks5, echo_server):
    s = sks5(guard=True)
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
    assert rep == 2
    c.close()
    s.wait_log("127.0.0.0/8")


def test_ssrf_guard_allow_list(sks5, echo_server):
    s = sks5(guard=True, extra_sec='ip_guard_allow = ["127.0.0.1/32"]')
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
    assert rep == 0
    c.close()


def test_acl_deny_cidr_and_port_range(sks5, echo_server):
    s = sks5(extra='[acl]\ndefault_policy = "allow"\ndeny = ["127.0.0.0/8:%d-%d"]\n'
             % (echo_server, echo_server))
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
    assert rep == 2
    c.close()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", free_port())
    assert rep == 5   # other ports are not denied: the connect itself fails
    c.close()


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_acl_wildcard_name_and_default_deny(sks5, echo_server):
    s = sks5(extra='[acl]\ndefault_policy = "deny"\nallow = ["*.test:%d"]\n' % echo_server)
    c, rep, _ = socks_connect(s.port, 3, "sks5-target.test", echo_server)
    assert rep == 0
    c.close()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
    assert rep == 2   # an IP literal does not match a name rule
    c.close()
    c, rep, _ = socks_connect(s.port, 3, "localhost", echo_server)
    assert rep == 2
    c.close()


def test_slow_client_is_cut_at_handshake_timeout(sks5):
    s = sks5()
    c = socket.create_connection(("127.0.0.1", s.port), timeout=15)
    c.sendall(b"\x05")          # and then nothing
    c.settimeout(12)
    assert c.recv(10) == b""     # closed by the server after ~5 s
    c.close()
    s.wait_log("event=handshake.timeout")


def test_many_concurrent_tunnels(sks5, echo_server):
    s = sks5()
    conns = []
    for i in range(500):
        c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
        assert rep == 0
        conns.append(c)
    for i, c in enumerate(conns):
        c.sendall(b"%05d" % i)
    for i, c in enumerate(conns):
        assert recv_exact(c, 5) == b"%05d" % i
        c.close()


def test_large_transfer_checksum(sks5, echo_server):
    s = sks5()
    c, rep, _ = socks_connect(s.port, 1, "127.0.0.1", echo_server)
    assert rep == 0
    total = 100 * 1024 * 1024
    block = os.urandom(65536)
    sent = hashlib.sha256()
    recvd = hashlib.sha256()
    count = [0]

    def reader():
        while True:
            d = c.recv(262144)
            if not d:
                return
            recvd.update(d)
            count[0] += len(d)

    t = threading.Thread(target=reader)
    t.start()
    for _ in range(total // len(block)):
        c.sendall(block)
        sent.update(block)
    c.shutdown(socket.SHUT_WR)
    t.join(60)
    c.close()
    sent.update(b"bye")
    assert count[0] == total + 3
    assert recvd.hexdigest() == sent.hexdigest()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip")
                    or not shutil.which("unshare"),
                    reason="needs root, ip and unshare for a network namespace")
def test_unreachable_codes_in_netns(tmp_path):
    probe = os.path.join(os.path.dirname(__file__), "netns_probe.py")
    r = subprocess.run(["unshare", "-n", "-m", "/usr/bin/python3", probe,
                        str(tmp_path)], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ))
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.split("\n")
    # 0x03 network unreachable; 0x06 TTL expired (connect timed out)
    assert "10.9.9.9 3" in lines, r.stdout + r.stderr
    assert "192.0.2.5 6" in lines, r.stdout + r.stderr
    assert "exit 0" in lines, r.stdout + r.stderr


def test_graceful_shutdown_waits_for_tunnel(tmp_path, echo_server):
    port = free_port()
    s = Server(tmp_path, config(port))
    s.wait_port(port)
    c, rep, _ = socks_connect(port, 1, "127.0.0.1", echo_server)
    assert rep == 0
    s.proc.send_signal(15)
    s.wait_log("event=shutdown")
    # New connections are refused, the live tunnel still works.
    with pytest.raises(OSError):
        for _ in range(20):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            import time
            time.sleep(0.1)
    c.sendall(b"still here")
    assert recv_exact(c, 10) == b"still here"
    c.close()
    assert s.stop() == 0
