"""SOCKS5 UDP ASSOCIATE end to end (RFC 1928 section 7): a raw Python
client talks DNS-style request/response to a local UDP echo server through
the real binary. Loopback only; every wait is bounded."""
import re
import socket
import struct
import threading

import pytest

from sks5_server import Server, can_isolate_dns, free_port, password_hash

USER, PASSWORD = "alice", "correct horse"


def has_ipv6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def config(listen, guard=False, limits="", extra="", sec="", user=""):
    return """
[server]
socks5_listen = "%s"
workers = 2
shutdown_timeout = 5

[limits]
socks5_handshake_timeout = 5
connection_timeout = 3
%s

[security]
ip_guard_enabled = %s
%s

[logging]
log_denied_connections = true

%s

[[users]]
username = "%s"
password_hash = "%s"
%s
""" % (listen, limits, "true" if guard else "false", sec, extra, USER,
       password_hash(PASSWORD), user)


@pytest.fixture
def sks5(tmp_path):
    started = []

    def start(v6=False, dual=False, **kw):
        port = free_port(socket.AF_INET6, "::1") if v6 else free_port()
        host = "::1" if v6 else "127.0.0.1"
        listen = "[::1]:%d" % port if v6 else "127.0.0.1:%d" % port
        if dual:
            listen = "*:%d" % port
        s = Server(tmp_path, config(listen, **kw))
        s.port, s.host = port, host
        s.wait_port(port, host=host)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0


class UdpEcho:
    """Answers every datagram with b're:' + payload, from its own port."""

    def __init__(self, host="127.0.0.1"):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            try:
                d, a = self.sock.recvfrom(70000)
            except OSError:
                continue
            self.seen.append(d)
            self.sock.sendto(b"re:" + d, a)

    def close(self):
        self.stop.set()
        self.t.join(5)
        self.sock.close()


@pytest.fixture
def echo():
    made = []

    def make(host="127.0.0.1"):
        e = UdpEcho(host)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError("closed after %d of %d bytes" % (len(out), n))
        out += d
    return out


def read_addr(s, atyp):
    if atyp == 1:
        return socket.inet_ntoa(recv_exact(s, 4))
    if atyp == 4:
        return socket.inet_ntop(socket.AF_INET6, recv_exact(s, 16))
    raise AssertionError("bad ATYP %d" % atyp)


def encode_addr(host):
    try:
        return b"\x01" + socket.inet_aton(host)
    except OSError:
        pass
    try:
        return b"\x04" + socket.inet_pton(socket.AF_INET6, host)
    except OSError:
        return b"\x03" + bytes([len(host)]) + host.encode()


def associate(srv, dst=("0.0.0.0", 0)):
    """Opens a control connection and asks for UDP ASSOCIATE.
    Returns (tcp socket, reply code, (bnd host, bnd port))."""
    c = socket.create_connection((srv.host, srv.port), timeout=10)
    u, p = USER.encode(), PASSWORD.encode()
    c.sendall(b"\x05\x01\x02" + b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    assert recv_exact(c, 4) == b"\x05\x02\x01\x00"
    c.sendall(b"\x05\x03\x00" + encode_addr(dst[0]) + struct.pack(">H", dst[1]))
    hdr = recv_exact(c, 4)
    assert hdr[0] == 5
    bnd = read_addr(c, hdr[3])
    bport = struct.unpack(">H", recv_exact(c, 2))[0]
    return c, hdr[1], (bnd, bport)


def udp_header(host, port, frag=0):
    return b"\x00\x00" + bytes([frag]) + encode_addr(host) + struct.pack(">H", port)


def parse_reply(d):
    """Splits a relayed datagram into (sender host, sender port, payload)."""
    assert d[0:3] == b"\x00\x00\x00"
    if d[3] == 1:
        host, rest = socket.inet_ntoa(d[4:8]), d[8:]
    elif d[3] == 4:
        host, rest = socket.inet_ntop(socket.AF_INET6, d[4:20]), d[20:]
    else:
        raise AssertionError("reply ATYP %d" % d[3])
    return host, struct.unpack(">H", rest[:2])[0], rest[2:]


def client_sock(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    u = socket.socket(fam, socket.SOCK_DGRAM)
    u.bind((host, 0))
    u.settimeout(5)
    return u


def expect_nothing(u, wait=0.7):
    u.settimeout(wait)
    try:
        d = u.recv(70000)
    except socket.timeout:
        return
    except ConnectionRefusedError:
        return
    finally:
        u.settimeout(5)
    raise AssertionError("unexpected datagram %r" % d)


def counter(srv, name):
    srv.wait_log("event=udp.complete")
    m = re.search(r"event=udp\.complete .*?\b%s=(\d+)" % name, srv.text())
    assert m, srv.text()
    return int(m.group(1))


def test_udp_v4_dns_style_roundtrips(sks5, echo):
    s = sks5()
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    assert bnd[0] == "127.0.0.1" and bnd[1] > 0   # real address, never 0.0.0.0
    u = client_sock()
    for i in range(20):
        q = struct.pack(">H", i) + b"\x01\x00\x00\x01" + b"query-%d" % i
        u.sendto(udp_header("127.0.0.1", e.port) + q, tuple(bnd))
        host, port, payload = parse_reply(u.recv(70000))
        assert (host, port) == ("127.0.0.1", e.port)
        assert payload == b"re:" + q
    c.close()
    assert counter(s, "datagrams_up") == 20
    assert counter(s, "datagrams_down") == 20
    u.close()


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback")
def test_udp_v6(sks5, echo):
    s = sks5(v6=True)
    e = echo("::1")
    c, rep, bnd = associate(s, ("::", 0))
    assert rep == 0
    assert bnd[0] == "::1" and bnd[1] > 0
    u = client_sock("::1")
    u.sendto(udp_header("::1", e.port) + b"six", (bnd[0], bnd[1]))
    host, port, payload = parse_reply(u.recv(70000))
    assert (host, port, payload) == ("::1", e.port, b"re:six")
    c.close()
    u.close()


def test_udp_large_datagram_and_size_limit(sks5, echo):
    s = sks5(limits="max_udp_datagram_size = 2000")
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    big = bytes(range(256)) * 7       # 1792 bytes: fits
    u.sendto(udp_header("127.0.0.1", e.port) + big, tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:" + big
    u.sendto(udp_header("127.0.0.1", e.port) + b"x" * 3000, tuple(bnd))
    expect_nothing(u)
    c.close()
    assert counter(s, "dropped_size") == 1
    u.close()


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_udp_name_destination(sks5, echo):
    s = sks5()
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    # Several datagrams at once while the name is being resolved: they
    # are queued, not lost.
    for i in range(3):
        u.sendto(udp_header("sks5-target.test", e.port) + b"n%d" % i, tuple(bnd))
    got = sorted(parse_reply(u.recv(70000))[2] for _ in range(3))
    assert got == [b"re:n0", b"re:n1", b"re:n2"]
    u.sendto(udp_header("not-in-hosts.test", e.port) + b"lost", tuple(bnd))
    expect_nothing(u)
    c.close()
    u.close()


def test_udp_acl_denied_destination_dropped_and_counted(sks5, echo):
    e_ok, e_no = echo(), echo()
    s = sks5(extra='[acl]\ndefault_policy = "allow"\ndeny = ["127.0.0.1:%d"]\n' % e_no.port)
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e_no.port) + b"denied", tuple(bnd))
    u.sendto(udp_header("127.0.0.1", e_no.port) + b"denied2", tuple(bnd))
    u.sendto(udp_header("127.0.0.1", e_ok.port) + b"fine", tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:fine"
    expect_nothing(u)
    assert e_no.seen == []
    s.wait_log("event=udp.denied")
    c.close()
    assert counter(s, "dropped_denied") == 2
    u.close()


def test_udp_ssrf_guard_blocks_loopback(sks5, echo):
    e = echo()
    s = sks5(guard=True)
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e.port) + b"ssrf", tuple(bnd))
    expect_nothing(u)
    assert e.seen == []
    s.wait_log("127.0.0.0/8")
    c.close()
    u.close()


def test_udp_association_ends_with_tcp(sks5, echo):
    s = sks5()
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e.port) + b"one", tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:one"
    c.close()
    s.wait_log("event=udp.complete")
    n = len(e.seen)
    u.sendto(udp_header("127.0.0.1", e.port) + b"two", tuple(bnd))
    expect_nothing(u)
    assert len(e.seen) == n
    u.close()


def test_udp_other_source_ignored(sks5, echo):
    s = sks5()
    e = echo()
    u = client_sock()
    other = client_sock()
    # Pinned explicitly to u's address and port.
    c, rep, bnd = associate(s, u.getsockname())
    assert rep == 0
    other.sendto(udp_header("127.0.0.1", e.port) + b"intruder", tuple(bnd))
    expect_nothing(other)
    u.sendto(udp_header("127.0.0.1", e.port) + b"owner", tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:owner"
    assert b"intruder" not in e.seen
    c.close()
    # Pinned to the control connection's address; the port is learnt
    # from the first datagram, then fixed.
    c, rep, bnd = associate(s)
    assert rep == 0
    u.sendto(udp_header("127.0.0.1", e.port) + b"first", tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:first"
    other.sendto(udp_header("127.0.0.1", e.port) + b"late", tuple(bnd))
    expect_nothing(other)
    assert b"late" not in e.seen
    c.close()
    s.wait_log("dropped_foreign=1")
    u.close()
    other.close()


def test_udp_fragments_and_bad_headers_dropped(sks5, echo):
    s = sks5()
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e.port, frag=1) + b"frag", tuple(bnd))
    u.sendto(b"\x00\x00\x00\x09junk", tuple(bnd))   # unknown ATYP
    expect_nothing(u)
    assert e.seen == []
    c.close()
    assert counter(s, "dropped_frag") == 1
    assert counter(s, "dropped_bad") == 1
    u.close()


def test_udp_client_address_must_match_control(sks5):
    s = sks5()
    c, rep, _ = associate(s, ("127.0.0.2", 5000))
    assert rep == 2
    c.close()


def test_udp_sessions_per_user_limit(sks5):
    s = sks5(limits="max_udp_sessions_per_user = 1")
    c1, rep, _ = associate(s)
    assert rep == 0
    c2, rep, _ = associate(s)
    assert rep == 2
    c2.close()
    c1.close()
    s.wait_log("event=udp.complete")
    c3, rep, _ = associate(s)   # the slot came back
    assert rep == 0
    c3.close()


def test_udp_destination_limit(sks5, echo):
    e1, e2 = echo(), echo()
    s = sks5(limits="max_udp_destinations = 1")
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e1.port) + b"a", tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:a"
    u.sendto(udp_header("127.0.0.1", e2.port) + b"b", tuple(bnd))
    expect_nothing(u)
    c.close()
    assert counter(s, "dropped_limit") == 1
    u.close()


def test_udp_control_connection_junk_then_close(sks5):
    s = sks5()
    c, rep, _ = associate(s)
    assert rep == 0
    c.sendall(b"x" * 10000)     # more than the input buffer holds
    c.close()
    s.wait_log("event=udp.complete")


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6")
def test_udp_dual_stack_listener_replies_plain_ipv4(sks5, echo):
    # On a "*" listener an IPv4 client arrives as ::ffff:127.0.0.1; the
    # relay address must still be plain IPv4 (ATYP 1), never v4-mapped.
    s = sks5(dual=True)
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    assert bnd[0] == "127.0.0.1" and bnd[1] > 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e.port) + b"dual", tuple(bnd))
    host, port, payload = parse_reply(u.recv(70000))
    assert (host, port, payload) == ("127.0.0.1", e.port, b"re:dual")
    c.close()
    u.close()


def test_udp_association_counts_as_a_stream(sks5):
    # The session gate and the connection limits apply to UDP ASSOCIATE
    # as to CONNECT: one stream allowed per user here.
    s = sks5(limits="max_connections_per_user = 1")
    c1, rep, _ = associate(s)
    assert rep == 0
    c2, rep, _ = associate(s)
    assert rep == 2
    c2.close()
    c1.close()
    s.wait_log("event=udp.complete")
    c3, rep, _ = associate(s)
    assert rep == 0
    c3.close()


def burst(u, bnd, port, n, size):
    """Sends n datagrams of size bytes at once, then collects the echoes
    until 0.7 s pass without one. Returns how many came back."""
    for i in range(n):
        u.sendto(udp_header("127.0.0.1", port) + bytes([i % 256]) * size,
                 tuple(bnd))
    got = 0
    u.settimeout(0.7)
    try:
        for _ in range(n):
            u.recv(70000)
            got += 1
    except socket.timeout:
        pass
    finally:
        u.settimeout(5)
    return got


@pytest.mark.parametrize("where", ["server", "user"])
def test_udp_bandwidth_limit_drops_over_budget(sks5, echo, where):
    # 1 Mbit/s: 125000 B/s, a burst of 6250 bytes. 200 datagrams of
    # 1000 bytes sent at once cannot all fit; the excess is dropped (not
    # queued) and counted, and what passes still comes back.
    if where == "server":
        s = sks5(limits="max_bandwidth_mbps = 1\n")
    else:
        s = sks5(user="max_bandwidth_kbps = 1000\n")
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    got = burst(u, bnd, e.port, 200, 1000)
    # The datagrams out used the burst; their echoes may find it empty.
    assert 0 < len(e.seen) < 200
    assert got <= len(e.seen)
    # Nothing was queued: once the bucket refilled, one round trip works.
    u.sendto(udp_header("127.0.0.1", e.port) + b"after", tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:after"
    c.close()
    assert counter(s, "dropped_bandwidth") > 0
    assert counter(s, "datagrams_up") == len(e.seen)
    u.close()


def test_udp_without_limits_drops_nothing_for_bandwidth(sks5, echo):
    s = sks5()
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    for i in range(5):
        u.sendto(udp_header("127.0.0.1", e.port) + b"x" * 1000, tuple(bnd))
        parse_reply(u.recv(70000))
    c.close()
    assert counter(s, "dropped_bandwidth") == 0
    u.close()


def test_udp_quota_per_datagram_ends_association(sks5, echo):
    # One round trip is 1000 bytes up and 1003 down ("re:" + payload):
    # exactly the daily quota. The next datagram finds it used up: dropped,
    # the association ends (its control connection closes) and a new one
    # is refused.
    s = sks5(user="[users.quotas]\ndaily_bandwidth_bytes = 2003\n")
    e = echo()
    c, rep, bnd = associate(s)
    assert rep == 0
    u = client_sock()
    u.sendto(udp_header("127.0.0.1", e.port) + b"q" * 1000, tuple(bnd))
    assert parse_reply(u.recv(70000))[2] == b"re:" + b"q" * 1000
    u.sendto(udp_header("127.0.0.1", e.port) + b"over", tuple(bnd))
    expect_nothing(u)
    assert len(e.seen) == 1
    c.settimeout(10)
    assert c.recv(10) == b""          # control connection closed
    c.close()
    s.wait_log("event=quota.exceeded proto=socks5-udp")
    assert counter(s, "dropped_quota") == 1
    c, rep, _ = associate(s)
    assert rep == 2
    c.close()
    u.close()
