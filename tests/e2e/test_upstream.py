"""Upstream SOCKS5 chaining end to end: sks5 -> second sks5 and sks5 ->
microsocks, with our ACL and anti-SSRF still applied to the requested
target and the upstream credentials never shown. Loopback only."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import binary
from sks5_server import Server, can_isolate_dns, free_port, password_hash
from test_socks5 import echo_server, recv_exact, socks_connect  # noqa: F401

USER, PASSWORD = "alice", "correct horse"
UP_USER, UP_PASS = "bob", "s3cret-upstream-pw"


def front_config(port, url=None, acl="", guard=False, user_extra="", extra_users=""):
    up = '[upstream_proxy]\nurl = "%s"\n' % url if url else ""
    return """
[server]
socks5_listen = "127.0.0.1:%d"
workers = 1
shutdown_timeout = 5

[limits]
socks5_handshake_timeout = 5
connection_timeout = 3

[security]
ip_guard_enabled = %s
ip_guard_allow = []

[logging]
log_denied_connections = true

%s
%s

[[users]]
username = "%s"
password_hash = "%s"
%s
%s
""" % (port, "true" if guard else "false", up, acl, USER, password_hash(PASSWORD),
       user_extra, extra_users)


def upstream_config(port):
    return """
[server]
socks5_listen = "127.0.0.1:%d"
workers = 1
shutdown_timeout = 5

[limits]
socks5_handshake_timeout = 5
connection_timeout = 3

[security]
ip_guard_enabled = false

[[users]]
username = "%s"
password_hash = "%s"
""" % (port, UP_USER, password_hash(UP_PASS))


@pytest.fixture
def servers(tmp_path):
    started = []

    def start(body, name):
        d = tmp_path / name
        d.mkdir()
        m = re.search(r'socks5_listen = "\[?([0-9a-f.:]+?)\]?:(\d+)"', body)
        host, port = m.group(1), int(m.group(2))
        s = Server(d, body)
        s.port = port
        s.wait_port(port, host=host)
        started.append(s)
        return s

    yield start
    for s in started:
        assert s.stop() == 0


@pytest.fixture
def upstream(servers):
    return servers(upstream_config(free_port()), "upstream")


@pytest.fixture
def microsocks():
    procs = []

    def start(auth=False):
        if shutil.which("microsocks") is None:
            pytest.skip("microsocks not installed")
        port = free_port()
        cmd = ["microsocks", "-i", "127.0.0.1", "-p", str(port)]
        if auth:
            cmd += ["-u", UP_USER, "-P", UP_PASS]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return port
            except OSError:
                time.sleep(0.05)
        raise AssertionError("microsocks did not start")

    yield start
    for p in procs:
        p.terminate()
        p.wait(10)


def url(port, creds=True, scheme="socks5"):
    if creds:
        return "%s://%s:%s@127.0.0.1:%d" % (scheme, UP_USER, UP_PASS, port)
    return "%s://127.0.0.1:%d" % (scheme, port)


def roundtrip(front, atyp, host, port):
    c, rep, _ = socks_connect(front.port, atyp, host, port)
    if rep == 0:
        c.sendall(b"chained")
        assert recv_exact(c, 7) == b"chained"
    c.close()
    return rep


def test_chain_through_second_sks5(servers, upstream, echo_server):
    front = servers(front_config(free_port(), url(upstream.port)), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 0
    upstream.wait_log("event=connection.open proto=socks5 peer=127.0.0.1")
    assert "user=%s target=127.0.0.1:%d" % (UP_USER, echo_server) in upstream.text()
    front.wait_log("event=proxy.complete")
    assert UP_PASS not in front.text()


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_name_resolved_locally_with_socks5_scheme(servers, upstream, echo_server):
    front = servers(front_config(free_port(), url(upstream.port)), "front")
    assert roundtrip(front, 3, "sks5-target.test", echo_server) == 0
    # socks5:// : the front resolved and checked the address, and asked
    # the upstream for exactly that address.
    upstream.wait_log("target=127.0.0.1:%d" % echo_server)


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_name_sent_to_upstream_with_socks5h(servers, upstream, echo_server):
    front = servers(front_config(free_port(), url(upstream.port, scheme="socks5h")), "front")
    assert roundtrip(front, 3, "sks5-target.test", echo_server) == 0
    upstream.wait_log("target=sks5-target.test:%d" % echo_server)


@pytest.mark.skipif(not can_isolate_dns(), reason="needs root for a private /etc/hosts")
def test_socks5h_name_never_defaults_to_allow(servers, upstream, echo_server):
    # Only an address rule allows: a name the upstream would resolve
    # cannot be matched against it, so the default (deny) applies.
    acl = '[acl]\ndefault_policy = "deny"\nallow = ["127.0.0.0/8"]\n'
    front = servers(front_config(free_port(), url(upstream.port, scheme="socks5h"),
                                 acl=acl), "front")
    assert roundtrip(front, 3, "sks5-target.test", echo_server) == 2
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 0
    assert "sks5-target.test" not in upstream.text()


def test_acl_deny_still_enforced(servers, upstream, echo_server):
    acl = '[acl]\ndefault_policy = "allow"\ndeny = ["127.0.0.1:%d"]\n' % echo_server
    front = servers(front_config(free_port(), url(upstream.port), acl=acl), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 2
    time.sleep(0.3)
    assert "event=connection.open" not in upstream.text()
    assert "event=accept" not in upstream.text()


def test_ssrf_guard_still_enforced(servers, upstream, echo_server):
    front = servers(front_config(free_port(), url(upstream.port), guard=True), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 2
    front.wait_log("127.0.0.0/8")
    assert "event=connection.open" not in upstream.text()


def test_wrong_upstream_credentials_fail_cleanly(servers, upstream, echo_server):
    bad = "socks5://%s:Wr0ngPassXYZ@127.0.0.1:%d" % (UP_USER, upstream.port)
    front = servers(front_config(free_port(), bad), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 1
    front.wait_log("authentication failed")
    assert "Wr0ngPassXYZ" not in front.text()


def test_upstream_down_is_refused_not_direct(servers, echo_server):
    front = servers(front_config(free_port(), url(free_port())), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 5


def test_per_user_upstream_overrides_global(servers, upstream, microsocks, echo_server):
    ms = microsocks()
    # alice uses the second sks5 (her own setting); carol has none and
    # inherits the global one (microsocks).
    carol = '[[users]]\nusername = "carol"\npassword_hash = "%s"\n' % password_hash(PASSWORD)
    front = servers(front_config(free_port(), url(ms, creds=False),
                                 user_extra='upstream_proxy = "%s"' % url(upstream.port),
                                 extra_users=carol), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 0
    upstream.wait_log("user=%s target=127.0.0.1:%d" % (UP_USER, echo_server))
    c, rep, _ = socks_connect(front.port, 1, "127.0.0.1", echo_server, user="carol")
    assert rep == 0
    c.sendall(b"via-ms")
    assert recv_exact(c, 6) == b"via-ms"
    c.close()
    assert upstream.text().count("event=connection.open") == 1


@pytest.mark.parametrize("auth", [False, True])
def test_chain_through_microsocks(servers, microsocks, echo_server, auth):
    ms = microsocks(auth=auth)
    front = servers(front_config(free_port(), url(ms, creds=auth)), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 0
    # a larger payload both ways
    c, rep, _ = socks_connect(front.port, 1, "127.0.0.1", echo_server)
    assert rep == 0
    data = os.urandom(300000)
    c.sendall(data)
    assert recv_exact(c, len(data)) == data
    c.close()


def test_credentials_redacted_in_show_config(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(front_config(free_port(), url(1080)))
    os.chmod(cfg, 0o600)
    r = subprocess.run([binary(), "-c", str(cfg), "show-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "upstream_proxy" in r.stdout
    assert UP_PASS not in r.stdout and UP_PASS not in r.stderr


def test_invalid_upstream_url_is_a_config_error(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(front_config(free_port(), "http://127.0.0.1:3128"))
    os.chmod(cfg, 0o600)
    r = subprocess.run([binary(), "-c", str(cfg), "check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "upstream_proxy.url" in r.stderr


def test_udp_associate_refused_with_upstream(servers, upstream):
    front = servers(front_config(free_port(), url(upstream.port)), "front")
    c = socket.create_connection(("127.0.0.1", front.port), timeout=10)
    u, p = USER.encode(), PASSWORD.encode()
    c.sendall(b"\x05\x01\x02\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    assert recv_exact(c, 4) == b"\x05\x02\x01\x00"
    c.sendall(b"\x05\x03\x00\x01" + bytes(6))
    assert recv_exact(c, 2) == b"\x05\x07"
    c.close()


def test_upstream_on_ipv6_address(servers, echo_server):
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    port = free_port(socket.AF_INET6, "::1")
    up = servers(upstream_config(port).replace('"127.0.0.1:%d"' % port,
                                               '"[::1]:%d"' % port), "up6")
    front = servers(front_config(free_port(), "socks5://%s:%s@[::1]:%d"
                                 % (UP_USER, UP_PASS, port)), "front")
    assert roundtrip(front, 1, "127.0.0.1", echo_server) == 0
    up.wait_log("user=%s target=127.0.0.1:%d" % (UP_USER, echo_server))
