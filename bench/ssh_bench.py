#!/usr/bin/python3
"""SSH side of the benchmark kit: sks5 next to OpenSSH's sshd (a private
instance on a loopback port with its own config), the same OpenSSH client,
the same ciphers.

Figures:
  - `ssh -L` bulk throughput, target -> client, with 1 and 8 parallel
    channels on one connection, for chacha20-poly1305 and aes128-gcm;
  - publickey logins per second (sequential `ssh host whoami`).

Loopback only. It asserts nothing about timing and is not part of the test
suite. Usage:
    bench/ssh_bench.py [--sks5 build/sks5] [--mib 512] [--logins 20]
Prints a markdown table on stdout, progress on stderr.
"""
import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 1 << 20
BLOB = os.urandom(CHUNK)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def source_server():
    """Sends as many bytes as the client asks for (8-byte big-endian)."""
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)

    def handle(c):
        with c:
            head = c.recv(8, socket.MSG_WAITALL)
            if len(head) != 8:
                return      # a readiness probe
            n = struct.unpack(">Q", head)[0]
            while n > 0:
                k = min(n, CHUNK)
                c.sendall(BLOB[:k])
                n -= k

    def loop():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(c,), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return ls


def pull(port, nbytes, out, i):
    c = socket.create_connection(("127.0.0.1", port), timeout=120)
    c.sendall(struct.pack(">Q", nbytes))
    buf = bytearray(CHUNK)
    got = 0
    while got < nbytes:
        k = c.recv_into(buf)
        if k == 0:
            break
        got += k
    c.close()
    out[i] = got


def wait_port(port, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process exited: %s" % proc.args)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def ssh_base(port, key, cipher):
    return ["ssh", "-p", str(port), "-i", key, "-F", "/dev/null",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes",
            "-c", cipher]


def throughput(port, user, key, cipher, src, channels, total):
    lport = free_port()
    fwd = subprocess.Popen(ssh_base(port, key, cipher) +
                           ["-N", "-L", "%d:127.0.0.1:%d" % (lport, src),
                            "%s@127.0.0.1" % user], start_new_session=True,
                           stdin=subprocess.DEVNULL)
    try:
        wait_port(lport, fwd)
        per = total // channels
        out = [0] * channels
        ts = [threading.Thread(target=pull, args=(lport, per, out, i))
              for i in range(channels)]
        t0 = time.time()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt = time.time() - t0
        if sum(out) != per * channels:
            return "short (%d of %d)" % (sum(out), per * channels)
        return "%.0f" % (sum(out) / dt / (1 << 20))
    finally:
        os.killpg(fwd.pid, signal.SIGTERM)
        fwd.wait()


def logins(port, user, key, n):
    t0 = time.time()
    for _ in range(n):
        r = subprocess.run(ssh_base(port, key, "chacha20-poly1305@openssh.com") +
                           ["%s@127.0.0.1" % user, "whoami"],
                           capture_output=True, stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            return "failed: %s" % r.stderr.decode(errors="replace").strip()
    return "%.1f" % (n / (time.time() - t0))


def start_sks5(binary, tmp, port, pubkey):
    cfg = os.path.join(tmp, "sks5.toml")
    with open(cfg, "w") as f:
        f.write("""[server]
ssh_listen = "127.0.0.1:%d"
host_key_path = "sks5_host_key"
banner = ""
[limits]
max_connections = 10000
[security]
ip_guard_enabled = false
[[users]]
username = "bench"
authorized_keys = ["%s"]
""" % (port, pubkey))
    os.chmod(cfg, 0o600)
    p = subprocess.Popen([binary, "-c", cfg], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "sks5.log"), "w"))
    wait_port(port, p)
    return p


def start_sshd(tmp, port, pubkey):
    hk = os.path.join(tmp, "sshd_host_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk], check=True)
    ak = os.path.join(tmp, "authorized_keys")
    with open(ak, "w") as f:
        f.write(pubkey + "\n")
    cfg = os.path.join(tmp, "sshd_config")
    with open(cfg, "w") as f:
        f.write("""Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s/sshd.pid
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
AllowTcpForwarding yes
PrintMotd no
UseDNS no
""" % (port, hk, tmp, ak))
    os.makedirs("/run/sshd", exist_ok=True)
    p = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", cfg], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(tmp, "sshd.log"), "w"))
    wait_port(port, p)
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sks5", default="build/sks5")
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--logins", type=int, default=20)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sks5-sshbench-")
    key = os.path.join(tmp, "id")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    pubkey = open(key + ".pub").read().strip()
    src = source_server().getsockname()[1]
    total = a.mib << 20
    rows = []
    servers = [("sks5", lambda p: start_sks5(os.path.abspath(a.sks5), tmp, p, pubkey),
                "bench")]
    if shutil.which("sshd") or os.path.exists("/usr/sbin/sshd"):
        servers.append(("OpenSSH sshd", lambda p: start_sshd(tmp, p, pubkey),
                        os.environ.get("USER", "root")))
    for name, start, user in servers:
        port = free_port()
        proc = start(port)
        try:
            for cipher in ("chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com"):
                for ch in (1, 8):
                    log("%s %s %d channel(s)" % (name, cipher, ch))
                    rows.append((name, "-L %d MiB, %s, %d channel%s (MiB/s)" %
                                 (a.mib, cipher.split("@")[0], ch, "s" if ch > 1 else ""),
                                 throughput(port, user, key, cipher, src, ch, total)))
            log("%s logins" % name)
            rows.append((name, "publickey logins per second (sequential)",
                         logins(port, user, key, a.logins)))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
    figures = []
    for _, f, _ in rows:
        if f not in figures:
            figures.append(f)
    names = [s[0] for s in servers]
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for f in figures:
        vals = [next((v for n, ff, v in rows if n == nm and ff == f), "-") for nm in names]
        print("| %s | %s |" % (f, " | ".join(vals)))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
