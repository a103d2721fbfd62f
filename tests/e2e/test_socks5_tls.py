"""TLS-wrapped SOCKS5 end to end: Python's ssl module does a full SOCKS5
CONNECT through the real binary; plain clients, silent clients and bad
certificate/key pairs fail cleanly. Loopback only."""
import datetime
import hashlib
import os
import socket
import ssl
import subprocess
import time

import pytest

from conftest import binary
from sks5_server import Server, free_port, password_hash
from test_socks5 import echo_server, recv_exact  # noqa: F401 (fixture)

crypto = pytest.importorskip("cryptography")
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

USER, PASSWORD = "alice", "correct horse"


def make_pair(d, name, days_from=-1, days_to=30):
    """Writes a self-signed P-256 certificate for localhost and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subj = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(subj).issuer_name(subj)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now + datetime.timedelta(days=days_from))
            .not_valid_after(now + datetime.timedelta(days=days_to))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cp, kp = d / (name + ".crt"), d / (name + ".key")
    cp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    kp.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()))
    os.chmod(kp, 0o600)
    return cp, kp


def config(port, cert, key, sec=""):
    return """
[server]
socks5_listen = "127.0.0.1:%d"
socks5_tls_cert = "%s"
socks5_tls_key = "%s"
workers = 2
shutdown_timeout = 5

[limits]
socks5_handshake_timeout = 5
connection_timeout = 3

[security]
ip_guard_enabled = false
%s
[[users]]
username = "%s"
password_hash = "%s"
""" % (port, cert, key, sec, USER, password_hash(PASSWORD))


@pytest.fixture
def tls_sks5(tmp_path):
    cert, key = make_pair(tmp_path, "good")
    port = free_port()
    s = Server(tmp_path, config(port, cert, key))
    s.port, s.cert = port, cert
    s.wait_port(port)
    yield s
    assert s.stop() == 0


def tls_client(srv, max_version=None):
    ctx = ssl.create_default_context(cafile=str(srv.cert))
    if max_version is not None:
        ctx.maximum_version = max_version
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def socks_connect(c, port):
    u, p = USER.encode(), PASSWORD.encode()
    c.sendall(b"\x05\x01\x02")
    assert recv_exact(c, 2) == b"\x05\x02"
    c.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    assert recv_exact(c, 2) == b"\x01\x00"
    c.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + port.to_bytes(2, "big"))
    rep = recv_exact(c, 10)
    return rep[1]


def test_tls_socks5_connect_roundtrip_and_half_close(tls_sks5, echo_server):
    c = tls_client(tls_sks5)
    assert c.version() in ("TLSv1.2", "TLSv1.3")
    assert socks_connect(c, echo_server) == 0
    c.sendall(b"through TLS")
    assert recv_exact(c, 11) == b"through TLS"
    # A FIN from us (no more data) reaches the target as a FIN, and its
    # answer after that still comes back through TLS.
    socket.socket.shutdown(c, socket.SHUT_WR)
    got = b""
    while True:
        d = c.recv(100)
        if not d:
            break
        got += d
    assert got == b"bye"
    c.close()
    tls_sks5.wait_log("event=proxy.complete")


def test_tls12_and_large_transfer(tls_sks5, echo_server):
    c = tls_client(tls_sks5, ssl.TLSVersion.TLSv1_2)
    assert c.version() == "TLSv1.2"
    assert "ECDHE" in c.cipher()[0]
    assert socks_connect(c, echo_server) == 0
    total = 4 * 1024 * 1024
    block = os.urandom(65536)
    sent, recvd = hashlib.sha256(), hashlib.sha256()
    count = 0
    # One thread only: an SSL socket must not be read and written from two
    # threads at once. Each block is echoed back before the next goes out.
    for i in range(total // len(block)):
        c.sendall(block)
        sent.update(block)
        while count < (i + 1) * len(block):
            d = c.recv(262144)
            assert d, "closed after %d bytes" % count
            recvd.update(d)
            count += len(d)
    assert count == total
    assert recvd.hexdigest() == sent.hexdigest()
    c.close()


def test_plain_client_against_tls_listener(tls_sks5, echo_server):
    p = socket.create_connection(("127.0.0.1", tls_sks5.port), timeout=10)
    p.sendall(b"\x05\x01\x02")
    got = b""
    while True:
        try:
            d = p.recv(100)
        except ConnectionResetError:
            break
        if not d:
            break
        got += d
    p.close()
    assert not got.startswith(b"\x05")   # never a SOCKS answer in clear
    tls_sks5.wait_log("event=tls.handshake_failed")
    # The listener still serves TLS clients.
    c = tls_client(tls_sks5)
    assert socks_connect(c, echo_server) == 0
    c.close()


def test_silent_client_cut_at_handshake_timeout(tls_sks5):
    p = socket.create_connection(("127.0.0.1", tls_sks5.port), timeout=15)
    p.settimeout(12)
    try:
        assert p.recv(10) == b""
    except ConnectionResetError:
        pass
    p.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        t = tls_sks5.text()
        if "event=tls.handshake_timeout" in t or "event=handshake.timeout" in t:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no handshake timeout logged:\n" + tls_sks5.text())


def client_hello():
    """The bytes of a TLS ClientHello, made without any socket."""
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    assert hello[:1] == b"\x16"       # handshake record
    return hello


def read_to_eof(s):
    got = b""
    for _ in range(100):
        try:
            d = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        got += d
    return got


def test_banned_client_closed_before_tls(tmp_path):
    cert, key = make_pair(tmp_path, "good")
    port = free_port()
    srv = Server(tmp_path, config(port, cert, key,
                                  "ban_threshold = 2\nban_window = 60\n"
                                  "ban_duration = 60\n"))
    srv.port, srv.cert = port, cert
    srv.wait_port(port)
    try:
        # A ClientHello before the ban gets a ServerHello.
        p = socket.create_connection(("127.0.0.1", port), timeout=10)
        p.sendall(client_hello())
        assert p.recv(1) == b"\x16"
        p.close()
        # Two failed logins over TLS ban 127.0.0.1.
        u, bad = USER.encode(), b"wrong"
        for _ in range(2):
            c = tls_client(srv)
            c.sendall(b"\x05\x01\x02")
            assert recv_exact(c, 2) == b"\x05\x02"
            c.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(bad)]) + bad)
            assert recv_exact(c, 2) == b"\x01\x01"
            c.close()
        srv.wait_log("event=ban.created")
        # Banned: the same ClientHello gets no byte back, only a close.
        before = srv.text().count("event=tls.handshake_failed")
        p = socket.create_connection(("127.0.0.1", port), timeout=10)
        try:
            p.sendall(client_hello())
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert read_to_eof(p) == b""
        p.close()
        srv.wait_log("tls=1 reason=banned")
        assert srv.text().count("event=tls.handshake_failed") == before
        # Another address still gets TLS and SOCKS5.
        raw = socket.create_connection(("127.0.0.1", port), timeout=10,
                                       source_address=("127.0.0.2", 0))
        ctx = ssl.create_default_context(cafile=str(cert))
        c = ctx.wrap_socket(raw, server_hostname="localhost")
        c.sendall(b"\x05\x01\x02")
        assert recv_exact(c, 2) == b"\x05\x02"
        c.close()
    finally:
        assert srv.stop() == 0


def run_sks5(tmp_path, cert, key, *args):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(config(free_port(), cert, key))
    os.chmod(cfg, 0o600)
    return subprocess.run([binary(), "-c", str(cfg)] + list(args),
                          capture_output=True, text=True, timeout=30)


def test_mismatched_key_is_a_startup_error(tmp_path):
    cert, _ = make_pair(tmp_path, "a")
    _, key = make_pair(tmp_path, "b")
    r = run_sks5(tmp_path, cert, key, "check-config")
    assert r.returncode != 0
    assert "does not match" in r.stderr, r.stderr
    r = run_sks5(tmp_path, cert, key)
    assert r.returncode != 0
    assert "does not match" in r.stderr, r.stderr


def test_expired_certificate_is_a_startup_error(tmp_path):
    cert, key = make_pair(tmp_path, "old", days_from=-30, days_to=-1)
    r = run_sks5(tmp_path, cert, key, "check-config")
    assert r.returncode != 0
    assert "expired" in r.stderr, r.stderr
    r = run_sks5(tmp_path, cert, key)
    assert r.returncode != 0
    assert "expired" in r.stderr, r.stderr


def test_garbage_key_file_is_a_startup_error(tmp_path):
    cert, key = make_pair(tmp_path, "g")
    key.write_text("not a key\n")
    r = run_sks5(tmp_path, cert, key, "check-config")
    assert r.returncode != 0
    assert "private key" in r.stderr, r.stderr


def test_good_pair_passes_check_config(tmp_path):
    cert, key = make_pair(tmp_path, "ok")
    r = run_sks5(tmp_path, cert, key, "check-config")
    assert r.returncode == 0, r.stderr


def test_udp_associate_over_tls_control(tls_sks5):
    from test_socks5_udp import UdpEcho, parse_reply, udp_header
    e = UdpEcho()
    try:
        c = tls_client(tls_sks5)
        u, p = USER.encode(), PASSWORD.encode()
        c.sendall(b"\x05\x01\x02")
        assert recv_exact(c, 2) == b"\x05\x02"
        c.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        assert recv_exact(c, 2) == b"\x01\x00"
        c.sendall(b"\x05\x03\x00\x01" + bytes(6))
        rep = recv_exact(c, 10)
        assert rep[:4] == b"\x05\x00\x00\x01"
        relay = (socket.inet_ntoa(rep[4:8]), int.from_bytes(rep[8:10], "big"))
        assert relay[0] == "127.0.0.1" and relay[1] > 0
        d = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        d.bind(("127.0.0.1", 0))
        d.settimeout(5)
        d.sendto(udp_header("127.0.0.1", e.port) + b"tls-udp", relay)
        assert parse_reply(d.recv(70000))[2] == b"re:tls-udp"
        d.close()
        c.close()
        tls_sks5.wait_log("event=udp.complete")
    finally:
        e.close()
