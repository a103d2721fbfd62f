#!/usr/bin/env python3
"""Measures how close sks5's bandwidth limits hold their rate (issue 7).

For each case a fresh sks5 serves SOCKS5 on loopback; a local source
sends as fast as it can through one CONNECT stream and the client counts
the bytes it receives for DURATION seconds, from the SOCKS5 reply on.
Prints the configured rate, the measured rate and the error in percent.

  python3 bench/bandwidth.py [build-dir] [seconds]
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
DURATION = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
USER, PASSWORD = "bench", "bench-password"

CASES = [
    ("100 kbit/s per connection", "max_bandwidth_kbps = 100", "", 100e3),
    ("10 Mbit/s per connection", "max_bandwidth_kbps = 10000", "", 10e6),
    ("200 Mbit/s per connection", "max_bandwidth_kbps = 200000", "", 200e6),
    ("200 Mbit/s server-wide", "", "max_bandwidth_mbps = 200", 200e6),
    ("10 Mbit/s per user (aggregate)", "max_aggregate_bandwidth_kbps = 10000",
     "", 10e6),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def source():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(4)

    def serve():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=pump, args=(c,), daemon=True).start()

    def pump(c):
        buf = b"z" * 262144
        try:
            while True:
                c.sendall(buf)
        except OSError:
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    return ls


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        if not d:
            raise EOFError
        out += d
    return out


def measure(port, tport):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x05\x01\x02")
    assert recv_exact(s, 2) == b"\x05\x02"
    u, p = USER.encode(), PASSWORD.encode()
    s.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
    assert recv_exact(s, 2) == b"\x01\x00"
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
              struct.pack(">H", tport))
    rep = recv_exact(s, 10)
    assert rep[1] == 0, rep
    buf = bytearray(1 << 20)
    total, t0 = 0, time.monotonic()
    end = t0 + DURATION
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            n = s.recv_into(buf)
        except socket.timeout:
            break
        if n == 0:
            break
        total += n
    el = time.monotonic() - t0
    s.close()
    return total * 8 / el


def main():
    binary = os.path.join(BUILD, "sks5")
    h = subprocess.run([binary, "hash-password"], input=PASSWORD + "\n",
                       capture_output=True, text=True, check=True).stdout.strip()
    src = source()
    tport = src.getsockname()[1]
    print("%-34s %14s %14s %8s" % ("case", "limit bit/s", "measured", "error"))
    for name, user_line, limits_line, rate in CASES:
        port = free_port()
        with tempfile.TemporaryDirectory() as d:
            cfgp = os.path.join(d, "config.toml")
            with open(cfgp, "w") as f:
                f.write("""[server]
socks5_listen = "127.0.0.1:%d"
workers = 2
shutdown_timeout = 1
[limits]
%s
[security]
ip_guard_enabled = false
[[users]]
username = "%s"
password_hash = "%s"
%s
""" % (port, limits_line, USER, h, user_line))
            os.chmod(cfgp, 0o600)
            p = subprocess.Popen([binary, "-c", cfgp], stderr=subprocess.DEVNULL)
            try:
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), 0.2).close()
                        break
                    except OSError:
                        time.sleep(0.05)
                got = measure(port, tport)
            finally:
                p.terminate()
                p.wait()
        print("%-34s %14.0f %14.0f %+7.2f%%" % (name, rate, got,
                                                (got - rate) / rate * 100))
    src.close()


if __name__ == "__main__":
    main()
