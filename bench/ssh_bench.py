#!/usr/bin/python3
"""SSH side of the benchmark kit: sks5 next to OpenSSH's sshd and dropbear
(private instances on loopback ports, each with its own configuration and
host key), driven by the same OpenSSH client with the same ciphers.

Figures (each measured REPS times, the servers interleaved within every
repetition, the median reported):
  - `ssh -L` bulk throughput, target -> client, with 1 and 8 parallel
    channels on one connection, for chacha20-poly1305 and aes128-gcm;
  - `ssh -D` connections per second: bench/socksload `cps` (8 workers,
    each looping over SOCKS5 CONNECT + 64-byte echo + close) through one
    `ssh -D`, so every exchange is one direct-tcpip channel;
  - publickey logins per second (sequential `ssh host whoami`);
  - memory per idle authenticated connection: N `ssh -N` clients held
    open, (server memory after - before) / N, summed over the server's
    process and all its descendants (sshd and dropbear fork per
    connection), as RSS and as PSS.

sshd and dropbear log users in as `sshbench`, a user that exists only in
a private mount namespace (`unshare -m` with copies of /etc/passwd and
/etc/group bind-mounted, as bench/compare.py does for dante): its shell is
/bin/sh and its home a temporary directory, so no login runs root's shell
start-up files and nothing on the machine changes.

Loopback only. It asserts nothing about timing and is not part of the test
suite. Usage:
    bench/ssh_bench.py [--sks5 build/sks5] [--mib 512] [--logins 20]
                       [--idle 200] [--reps 3] [--quick]
Prints a markdown table on stdout, progress on stderr.
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHUNK = 1 << 20
BLOB = os.urandom(CHUNK)
CHACHA = "chacha20-poly1305@openssh.com"
GCM = "aes128-gcm@openssh.com"
BENCH_UID = 47001
BENCH_USER = "sshbench"

OWNED = []      # every process we started, stopped on exit


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(args, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("start_new_session", True)
    p = subprocess.Popen(args, **kw)
    OWNED.append(p)
    return p


def stop(p, grace=5):
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()
    if p in OWNED:
        OWNED.remove(p)


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
    try:
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
    except OSError:
        pass


def wait_port(port, proc, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process exited: %s" % (proc.args,))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


# ----- process memory -----

def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def field_kb(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(pid):
    """(RSS KiB, PSS KiB, process count) over pid and its descendants."""
    ps = tree(pid)
    rss = sum(field_kb("/proc/%d/status" % p, "VmRSS") for p in ps)
    pss = sum(field_kb("/proc/%d/smaps_rollup" % p, "Pss") for p in ps)
    return rss, pss, len(ps)


# ----- the servers -----

class Srv:
    def __init__(self, name, proc, port, user, ciphers):
        self.name, self.proc, self.port = name, proc, port
        self.user, self.ciphers = user, ciphers

    @property
    def pid(self):
        return self.proc.pid


def fresh_dir(tmp, name):
    """A new directory for one server instance's files."""
    d = tempfile.mkdtemp(prefix=name + "-", dir=tmp)
    os.chmod(d, 0o755)
    return d


def start_sks5(binary, tmp, pubkey):
    port = free_port()
    tmp = fresh_dir(tmp, "sks5")
    cfg = os.path.join(tmp, "sks5.toml")
    with open(cfg, "w") as f:
        f.write("""[server]
ssh_listen = "127.0.0.1:%d"
host_key_path = "sks5_host_key"
banner = ""
[limits]
max_connections = 10000
max_ssh_connections = 4096
max_ssh_unauthenticated = 1024
max_ssh_unauthenticated_per_ip = 1024
max_unauthenticated_connections_per_ip = 1024
[security]
ip_guard_enabled = false
[[users]]
username = "bench"
authorized_keys = ["%s"]
""" % (port, pubkey))
    os.chmod(cfg, 0o600)
    p = spawn([binary, "-c", cfg], stdout=subprocess.DEVNULL,
              stderr=open(os.path.join(tmp, "sks5.log"), "w"))
    wait_port(port, p)
    return Srv("sks5", p, port, "bench", (CHACHA, GCM))


def private_users(tmp, pubkey):
    """passwd/group copies with the bench user, and its home."""
    home = os.path.join(tmp, "home")
    os.makedirs(os.path.join(home, ".ssh"), mode=0o700)
    ak = os.path.join(home, ".ssh", "authorized_keys")
    with open(ak, "w") as f:
        f.write(pubkey + "\n")
    os.chmod(home, 0o700)
    os.chmod(ak, 0o600)
    for p in (home, os.path.join(home, ".ssh"), ak):
        os.chown(p, BENCH_UID, BENCH_UID)
    with open("/etc/passwd") as f:
        passwd = f.read()
    with open("/etc/group") as f:
        group = f.read()
    pw, gr = os.path.join(tmp, "passwd"), os.path.join(tmp, "group")
    with open(pw, "w") as f:
        f.write(passwd.rstrip("\n") + "\n%s:x:%d:%d::%s:/bin/sh\n" %
                (BENCH_USER, BENCH_UID, BENCH_UID, home))
    with open(gr, "w") as f:
        f.write(group.rstrip("\n") + "\n%s:x:%d:\n" % (BENCH_USER, BENCH_UID))
    os.chmod(pw, 0o644)
    os.chmod(gr, 0o644)
    return pw, gr, ak


def in_private_ns(tmp, cmd):
    pw, gr = os.path.join(tmp, "passwd"), os.path.join(tmp, "group")
    script = ("mount --bind %s /etc/passwd && mount --bind %s /etc/group && "
              "exec \"$@\"" % (pw, gr))
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script,
            "sh"] + cmd


def start_sshd(tmp, ak):
    port = free_port()
    base, tmp = tmp, fresh_dir(tmp, "sshd")
    hk = os.path.join(tmp, "sshd_host_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hk],
                   check=True)
    cfg = os.path.join(tmp, "sshd_config")
    with open(cfg, "w") as f:
        f.write("""Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s/sshd.pid
AuthorizedKeysFile %s
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
PrintMotd no
PrintLastLog no
UseDNS no
MaxStartups 1024
MaxSessions 64
""" % (port, hk, tmp, ak))
    os.makedirs("/run/sshd", exist_ok=True)
    p = spawn(in_private_ns(base, ["/usr/sbin/sshd", "-D", "-e", "-f", cfg]),
              stdout=subprocess.DEVNULL,
              stderr=open(os.path.join(tmp, "sshd.log"), "w"))
    wait_port(port, p)
    return Srv("OpenSSH sshd", p, port, BENCH_USER, (CHACHA, GCM))


def start_dropbear(tmp):
    port = free_port()
    base, tmp = tmp, fresh_dir(tmp, "dropbear")
    hk = os.path.join(tmp, "dropbear_host_key")
    subprocess.run(["dropbearkey", "-t", "ed25519", "-f", hk],
                   check=True, capture_output=True)
    # -F foreground, -E log to stderr, -s no passwords, -m no motd.
    p = spawn(in_private_ns(base, ["/usr/sbin/dropbear", "-F", "-E", "-s",
                                  "-m", "-p", "127.0.0.1:%d" % port,
                                  "-r", hk, "-P",
                                  os.path.join(tmp, "dropbear.pid")]),
              stdout=subprocess.DEVNULL,
              stderr=open(os.path.join(tmp, "dropbear.log"), "w"))
    wait_port(port, p)
    # Debian's dropbear 2022.83 offers chacha20-poly1305 and aes-ctr only.
    return Srv("dropbear", p, port, BENCH_USER, (CHACHA,))


# ----- measurements -----

def ssh_base(srv, key, cipher=CHACHA):
    return ["ssh", "-p", str(srv.port), "-i", key, "-F", "/dev/null",
            "-o", "UserKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=no",
            "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20",
            # One key exchange for all: libssh 0.10 and dropbear have no
            # sntrup761x25519, which OpenSSH 9.2 would pick with sshd.
            "-o", "KexAlgorithms=curve25519-sha256",
            "-o", "HostKeyAlgorithms=ssh-ed25519",
            "-c", cipher]


def throughput(srv, key, cipher, src, channels, total):
    lport = free_port()
    fwd = spawn(ssh_base(srv, key, cipher) +
                ["-N", "-L", "%d:127.0.0.1:%d" % (lport, src),
                 "%s@127.0.0.1" % srv.user])
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
            t.join(300)
        dt = time.time() - t0
        if sum(out) != per * channels:
            log("  short transfer: %d of %d" % (sum(out), per * channels))
            return None
        return sum(out) / dt / (1 << 20)
    finally:
        stop(fwd)


def dyn_cps(srv, key, sink_port, seconds, workers):
    lport = free_port()
    fwd = spawn(ssh_base(srv, key) + ["-N", "-D", "127.0.0.1:%d" % lport,
                                      "%s@127.0.0.1" % srv.user])
    try:
        wait_port(lport, fwd)
        r = subprocess.run([os.path.join(HERE, "socksload"), "cps",
                            "-t", "127.0.0.1:%d" % sink_port,
                            "-x", "127.0.0.1:%d" % lport,
                            "-c", str(workers), "-d", str(seconds),
                            "-n", "200000"],
                           capture_output=True, text=True,
                           timeout=seconds + 60)
        kv = dict(x.split("=", 1) for x in r.stdout.split() if "=" in x)
        if r.returncode != 0 or "cps" not in kv:
            log("  socksload failed: %s" % r.stderr.strip()[:300])
            return None
        if int(kv.get("failed", "0")) > 0:
            log("  %s failed exchanges" % kv["failed"])
        return float(kv["cps"])
    finally:
        stop(fwd)


def logins(srv, key, n):
    t0 = time.time()
    for _ in range(n):
        r = subprocess.run(ssh_base(srv, key) +
                           ["%s@127.0.0.1" % srv.user, "whoami"],
                           capture_output=True, stdin=subprocess.DEVNULL,
                           timeout=60)
        if r.returncode != 0:
            log("  login failed: %s" % r.stderr.decode(errors="replace")
                .strip()[:300])
            return None
    return n / (time.time() - t0)


def idle_memory(srv, key, n, tmp, batch=4):
    """Opens n authenticated `ssh -N` connections (LocalCommand marks each
    one ready once logged in), batch at a time (dropbear refuses more than
    5 unauthenticated connections from one address), then (after - before)
    / n as KiB of RSS and PSS over the server's process tree."""
    ready = tempfile.mkdtemp(prefix="ready-", dir=tmp)
    time.sleep(0.5)
    rss0, pss0, np0 = memory(srv.pid)
    clients = []
    try:
        for b in range(0, n, batch):
            for i in range(b, min(n, b + batch)):
                mark = os.path.join(ready, "r%d" % i)
                clients.append(spawn(
                    ssh_base(srv, key) +
                    ["-N", "-o", "PermitLocalCommand=yes",
                     "-o", "LocalCommand=: > %s" % mark,
                     "%s@127.0.0.1" % srv.user],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            deadline = time.time() + 60
            want = min(n, b + batch)
            while len(os.listdir(ready)) < want:
                if time.time() > deadline:
                    log("  only %d of %d idle connections logged in" %
                        (len(os.listdir(ready)), want))
                    return None
                time.sleep(0.02)
        time.sleep(1.0)
        rss1, pss1, np1 = memory(srv.pid)
        return ((rss1 - rss0) / n, (pss1 - pss0) / n, (np1 - np0) / n)
    finally:
        for c in clients:
            stop(c, grace=2)
        shutil.rmtree(ready, ignore_errors=True)
        time.sleep(0.5)


def install_peers(only):
    """Installs dropbear-bin (server binaries only, no service) when it is
    missing and we are root with apt-get (BENCH_NO_INSTALL=1 skips it; a
    missing peer is then skipped). openssh-server is not installed here:
    its package would start a system sshd."""
    want = []
    if "dropbear" in only and not os.path.exists("/usr/sbin/dropbear"):
        want.append("dropbear-bin")
    if (not want or os.environ.get("BENCH_NO_INSTALL") or os.geteuid() != 0
            or shutil.which("apt-get") is None):
        return
    log("installing %s" % " ".join(want))
    r = subprocess.run(["apt-get", "install", "-y", "-q",
                        "--no-install-recommends"] + want,
                       stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if r.returncode != 0:
        log("install failed; the missing peers are skipped")


def fmt(v, digits=0):
    if v is None:
        return "—"
    if digits == 0 and abs(v) >= 10:
        return "%.0f" % v
    return "%.*f" % (max(digits, 1), v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sks5", default="build/sks5")
    ap.add_argument("--mib", type=int, default=512)
    ap.add_argument("--logins", type=int, default=20)
    ap.add_argument("--idle", type=int, default=200)
    ap.add_argument("--cps-seconds", type=float, default=4)
    ap.add_argument("--cps-workers", type=int, default=8)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="128 MiB, 10 logins, 50 idle, 2 s, 1 repetition")
    ap.add_argument("--only", default="sks5,sshd,dropbear")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    os.environ["SHELL"] = "/bin/sh"     # LocalCommand: no shell rc files
    if a.quick:
        a.mib, a.logins, a.idle, a.cps_seconds, a.reps = 128, 10, 50, 2, 1
    only = set(a.only.split(","))
    install_peers(only)
    subprocess.run(["make", "-s", "-C", HERE], check=True,
                   stdout=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="sks5-sshbench-")
    os.chmod(tmp, 0o755)
    key = os.path.join(tmp, "id")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key],
                   check=True)
    pubkey = open(key + ".pub").read().strip()
    src = source_server().getsockname()[1]
    sink = spawn([os.path.join(HERE, "sink")], stdout=subprocess.PIPE)
    sink_port = int(sink.stdout.readline())
    notes = []
    servers = []
    try:
        starters = []
        if "sks5" in only:
            starters.append(lambda: start_sks5(os.path.abspath(a.sks5), tmp,
                                               pubkey))
        can_ns = os.geteuid() == 0 and shutil.which("unshare") is not None
        _, _, ak = private_users(tmp, pubkey) if can_ns else (0, 0, None)
        if "sshd" in only:
            if can_ns and os.path.exists("/usr/sbin/sshd"):
                starters.append(lambda: start_sshd(tmp, ak))
            else:
                notes.append("OpenSSH sshd skipped (needs root, unshare "
                             "and /usr/sbin/sshd from openssh-server)")
        if "dropbear" in only:
            if can_ns and os.path.exists("/usr/sbin/dropbear"):
                starters.append(lambda: start_dropbear(tmp))
            else:
                notes.append("dropbear skipped (needs root, unshare and "
                             "/usr/sbin/dropbear from dropbear-bin)")
        servers = [st() for st in starters]
        figures = []
        for cipher in (CHACHA, GCM):
            for ch in (1, 8):
                figures.append((
                    "`-L` %d MiB, %s, %d channel%s (MiB/s)" %
                    (a.mib, cipher.split("@")[0], ch, "s" if ch > 1 else ""),
                    "up", cipher,
                    lambda s, c=cipher, ch=ch:
                        throughput(s, key, c, src, ch, a.mib << 20)))
        figures.append(("`-D` connections/s (%d workers, CONNECT + 64 B "
                        "echo + close)" % a.cps_workers, "up", CHACHA,
                        lambda s: dyn_cps(s, key, sink_port, a.cps_seconds,
                                          a.cps_workers)))
        figures.append(("publickey logins/s (sequential `ssh host "
                        "whoami`)", "up", CHACHA,
                        lambda s: logins(s, key, a.logins)))
        results = {}
        for rep in range(a.reps):
            for fname, _, cipher, fn in figures:
                for s in servers:
                    if cipher not in s.ciphers:
                        continue
                    log("[%d/%d] %s: %s" % (rep + 1, a.reps, s.name, fname))
                    v = fn(s)
                    log("    %s" % fmt(v, 1))
                    results.setdefault((s.name, fname), []).append(v)
            # Memory on a fresh instance of each server: a process that
            # already served the figures above has free heap to reuse,
            # which would hide part of the cost.
            for st in starters:
                s = st()
                log("[%d/%d] %s: %d idle connections (fresh instance)" %
                    (rep + 1, a.reps, s.name, a.idle))
                try:
                    m = idle_memory(s, key, a.idle, tmp)
                finally:
                    stop(s.proc)
                log("    %s" % (m,))
                if m is not None:
                    results.setdefault((s.name, "rss"), []).append(m[0])
                    results.setdefault((s.name, "pss"), []).append(m[1])
                    results.setdefault((s.name, "procs"), []).append(m[2])
        rows = [(f, d) for f, d, _, _ in figures]
        rows.append(("memory per idle connection, PSS KiB (%d open)" %
                     a.idle, "down"))
        rows.append(("memory per idle connection, RSS KiB (%d open)" %
                     a.idle, "down"))
        rows.append(("server processes per idle connection", "down"))
        keys = {rows[-3][0]: "pss", rows[-2][0]: "rss", rows[-1][0]: "procs"}
        names = [s.name for s in servers]

        def med(name, f):
            vs = [v for v in results.get((name, keys.get(f, f)), [])
                  if v is not None]
            return statistics.median(vs) if vs else None

        others = [n for n in names if n != "sks5"]
        head = ["figure"] + names + ["sks5/%s" % n.split()[-1] for n in others
                                     if "sks5" in names]
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for f, _ in rows:
            vals = [med(n, f) for n in names]
            cells = [fmt(v, 1 if "procs" == keys.get(f) or
                         (v is not None and v < 100) else 0) for v in vals]
            if "sks5" in names:
                mine = med("sks5", f)
                for n in others:
                    o = med(n, f)
                    cells.append("%.2f" % (mine / o) if mine is not None and
                                 o not in (None, 0) else "—")
            print("| %s | %s |" % (f, " | ".join(cells)))
        print()
        print("Medians of %d repetition(s), servers interleaved within each. "
              "For memory rows a ratio below 1 means sks5 uses less." %
              a.reps)
        for n in notes:
            print("- " + n)
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log("kept %s" % tmp)
    finally:
        for p in list(OWNED):
            stop(p, grace=3)


if __name__ == "__main__":
    main()
