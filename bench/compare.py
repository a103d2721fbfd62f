#!/usr/bin/python3
"""Run sks5, microsocks and dante side by side on loopback and compare them.

Every proxy is started on its own 127.0.0.1 port with user "bench" and
password "benchpass", one proxy at a time, and bench/socksload measures each
of them (and a direct, proxy-less baseline) against bench/sink.  The result
is a markdown table on stdout.  See bench/README.md.  Python stdlib only.
"""

import argparse
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
USER = "bench"
PASS = "benchpass"
MICROSOCKS = "/usr/bin/microsocks"
DANTED = "/usr/sbin/danted"

PROFILES = {
    # seconds per bulk, cps, 1-worker exchange and latency run; idle
    # tunnels and the time bound for opening them
    "quick": {"bulk": 2.0, "cps": 3.0, "cps1": 1.5, "lat": 2.0,
              "idle": 500, "idle_open": 30, "upload": False},
    "full": {"bulk": 10.0, "cps": 10.0, "cps1": 5.0, "lat": 10.0,
             "idle": 5000, "idle_open": 120, "upload": True},
}

started = []            # every Popen this script started
notes = []              # remarks printed under the table


def log(msg):
    """Progress output goes to stderr so stdout holds only the report."""
    print(msg, file=sys.stderr, flush=True)


def stop(proc, grace=3.0):
    """Stop a process we started, with its process group (its children)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def cleanup():
    """Stop everything still running; called on every exit path."""
    while started:
        p = started.pop()
        try:
            stop(p, grace=2.0)
        except Exception as e:  # keep stopping the others
            log("cleanup: %s" % e)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def spawn(argv, **kw):
    """Start a process in its own session so its children can be stopped."""
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    started.append(p)
    return p


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True when something listens on 127.0.0.1:port (read from /proc, so
    no probe connection reaches the proxy)."""
    want = ":%04X" % port
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[1].endswith(want) and fields[3] == "0A":
                        return True
        except OSError:
            pass
    return False


def wait_listen(proc, port, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        if listening(port):
            return True
        time.sleep(0.05)
    return False


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:]).rstrip()
    except OSError:
        return ""


def raise_nofile(want=65536):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for lim in ((want, max(want, hard)), (min(want, hard), hard)):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------- proxies

def start_microsocks(tmp, auth):
    if not os.access(MICROSOCKS, os.X_OK):
        return None, "microsocks not installed"
    port = free_port()
    argv = [MICROSOCKS, "-i", "127.0.0.1", "-p", str(port)]
    if auth:
        argv += ["-u", USER, "-P", PASS]
    logf = open(os.path.join(tmp, "microsocks.log"), "ab")
    p = spawn(argv, stdout=logf, stderr=subprocess.STDOUT)
    if not wait_listen(p, port):
        stop(p)
        return None, "microsocks did not come up"
    return (p, port), None


def dante_userdb(tmp):
    """Private passwd/shadow with the bench user, for a mount namespace."""
    if os.geteuid() != 0 or not shutil.which("unshare") or \
            not shutil.which("openssl"):
        return None
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if r.returncode != 0:
        return None
    r = subprocess.run(["openssl", "passwd", "-6", PASS],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None
    pw = os.path.join(tmp, "passwd")
    sh = os.path.join(tmp, "shadow")
    with open("/etc/passwd") as f:
        lines = [ln for ln in f if not ln.startswith(USER + ":")]
    with open(pw, "w") as f:
        f.writelines(lines)
        f.write("%s:x:65532:65534:bench:/nonexistent:/usr/sbin/nologin\n"
                % USER)
    with open("/etc/shadow") as f:
        lines = [ln for ln in f if not ln.startswith(USER + ":")]
    fd = os.open(sh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.writelines(lines)
        f.write("%s:%s:19000:0:99999:7:::\n" % (USER, r.stdout.strip()))
    return pw, sh


def start_dante(tmp, auth):
    if not os.access(DANTED, os.X_OK):
        return None, "danted not installed"
    db = dante_userdb(tmp) if auth else None
    if auth and db is None:
        return None, ("dante: cannot give it a private bench user "
                      "(needs root, unshare -m and openssl)")
    port = free_port()
    conf = os.path.join(tmp, "danted-%s.conf" % ("auth" if auth else "none"))
    dlog = os.path.join(tmp, "danted.log")
    with open(conf, "w") as f:
        f.write("logoutput: %s\n" % dlog)
        f.write("internal: 127.0.0.1 port = %d\n" % port)
        f.write("external: 127.0.0.1\n")
        f.write("socksmethod: %s\n" % ("username" if auth else "none"))
        f.write("clientmethod: none\n")
        f.write("user.privileged: root\n")
        f.write("user.unprivileged: nobody\n")
        f.write("client pass {\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n"
                "  log: error\n}\n")
        f.write("socks pass {\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n"
                "  command: connect udpassociate\n  log: error\n}\n")
        f.write("socks pass {\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n"
                "  command: udpreply\n  log: error\n}\n")
    if db:
        # The username method checks the system user database: give dante
        # one of its own in a private mount namespace, so nothing on the
        # machine changes.  exec keeps the pid: it is the dante mother.
        script = ("mount --bind %s /etc/passwd && "
                  "mount --bind %s /etc/shadow && exec %s -f %s"
                  % (db[0], db[1], DANTED, conf))
        argv = ["unshare", "-m", "sh", "-c", script]
    else:
        argv = [DANTED, "-f", conf]
    out = open(os.path.join(tmp, "danted.out"), "ab")
    p = spawn(argv, stdout=out, stderr=subprocess.STDOUT)
    if not wait_listen(p, port, timeout=10.0):
        stop(p)
        return None, "dante did not come up: %s" % tail(dlog, 2)
    return (p, port), None


def sks5_hash(binary):
    try:
        r = subprocess.run([binary, "hash-password"], input=PASS + "\n",
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e)
    for line in r.stdout.splitlines():
        if line.strip().startswith("$argon2"):
            return line.strip(), None
    return None, "hash-password gave no hash (exit %d): %s" % (
        r.returncode, (r.stderr or r.stdout).strip()[-200:])


def sks5_sections(tmp, port, phash):
    """The config as [header, [(line, optional), ...]] sections.  The brief's
    minimal config is the non-optional part; the optional lines keep sks5
    off the machine's default paths and ports, quiet, and uncapped for the
    idle test.  Optional lines that sks5 refuses are dropped (see
    start_sks5)."""
    return [
        ["[server]", [
            ('socks5_listen = "127.0.0.1:%d"' % port, False),
            ('ssh_listen = "127.0.0.1:%d"' % free_port(), True),
            ('host_key_path = "%s"' % os.path.join(tmp, "host_key"), True),
            ("shutdown_timeout = 1", True)]],
        ["[limits]", [("max_connections = 100000", True)]],
        ["[logging]", [('level = "warn"', True)]],
        ["[persistence]", [
            ('data_dir = "%s"' % os.path.join(tmp, "sks5-data"), True)]],
        ["[security]", [("ip_guard_enabled = false", False)]],
        ["[[users]]", [('username = "%s"' % USER, False),
                       ('password_hash = "%s"' % phash, False)]],
    ]


def sks5_write(path, sections):
    """Write the config; return {line number: (section index, line index)},
    with line index -1 for a section header."""
    where = {}
    out = []
    for si, (head, lines) in enumerate(sections):
        out.append(head)
        where[len(out)] = (si, -1)
        for li, (text, _opt) in enumerate(lines):
            out.append(text)
            where[len(out)] = (si, li)
        out.append("")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(out))
    return where


def sks5_drop(sections, where, errlines):
    """Drop the optional lines (or whole optional sections) that sks5
    complained about; False when a complaint hit a required line."""
    drop_sec, drop_line = set(), set()
    for n in errlines:
        if n not in where:
            continue
        si, li = where[n]
        lines = sections[si][1]
        if li == -1:
            if not all(o for _t, o in lines):
                return False
            drop_sec.add(si)
        elif lines[li][1]:
            drop_line.add((si, li))
        else:
            return False
    if not drop_sec and not drop_line:
        return False
    for si, (head, lines) in enumerate(sections):
        sections[si][1] = [ln for li, ln in enumerate(lines)
                           if (si, li) not in drop_line]
    for si in sorted(drop_sec, reverse=True):
        del sections[si]
    sections[:] = [s for s in sections if s[1]]
    return True


def sks5_optional(where, sections, line, conf):
    """True when an error line from sks5 is about an optional line."""
    m = re.search(re.escape(conf) + r":(\d+):", line)
    if not m or int(m.group(1)) not in where:
        return False
    si, li = where[int(m.group(1))]
    lines = sections[si][1]
    return all(o for _t, o in lines) if li == -1 else lines[li][1]


def start_sks5(tmp, binary):
    if not os.access(binary, os.X_OK):
        return None, "sks5 skipped: %s does not exist" % binary
    phash, err = sks5_hash(binary)
    if phash is None:
        return None, "sks5 skipped: %s" % err
    port = free_port()
    sections = sks5_sections(tmp, port, phash)
    conf = os.path.join(tmp, "sks5.toml")
    slog = os.path.join(tmp, "sks5.log")
    last = ""
    dropped = False
    for _attempt in range(6):
        where = sks5_write(conf, sections)
        with open(slog, "wb") as out:
            p = spawn([binary, "-c", conf], stdout=out,
                      stderr=subprocess.STDOUT, cwd=tmp)
        if wait_listen(p, port, timeout=5.0):
            if dropped:
                notes.append("sks5 refused some optional config keys; ran "
                             "with: " + "; ".join(
                                 t for _h, ls in sections for t, _o in ls
                                 if not t.startswith("password_hash")))
            return (p, port), None
        stop(p)
        started.remove(p)
        with open(slog, errors="replace") as f:
            text = f.read()
        last = " / ".join(text.strip().splitlines()[-3:])
        errlines = set(int(m) for m in re.findall(
            re.escape(conf) + r":(\d+):", text))
        if not sks5_drop(sections, where, errlines):
            bad = [ln.strip() for ln in text.splitlines()
                   if re.search(re.escape(conf) + r":\d+:", ln)
                   and not sks5_optional(where, sections, ln, conf)]
            if bad:
                last = " / ".join(bad[:3])
            break
        dropped = True
    return None, ("sks5 skipped: not listening on SOCKS5 within 5 s (%s)"
                  % last)


# ---------------------------------------------------------------- measuring

def socksload(mode, sink_port, proxy_port, auth, args, timeout):
    argv = [os.path.join(HERE, "socksload"), mode,
            "-t", "127.0.0.1:%d" % sink_port] + args
    if proxy_port:
        argv += ["-x", "127.0.0.1:%d" % proxy_port]
        if auth:
            argv += ["-u", USER, "-p", PASS]
    try:
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "socksload %s timed out" % mode
    kv = {}
    lines = r.stdout.strip().splitlines()
    if lines:
        for tok in lines[-1].split():
            k, _, v = tok.partition("=")
            try:
                kv[k] = float(v)
            except ValueError:
                kv[k] = v
    err = r.stderr.strip()
    if r.returncode != 0 or err:
        return kv or None, "socksload %s: %s" % (
            mode, err.splitlines()[0] if err else "exit %d" % r.returncode)
    return kv, None


def measure(name, sink_port, proxy, auth, prof, workers):
    """Run every mode against one target; returns {figure: value}."""
    port = proxy[1] if proxy else None
    pid = proxy[0].pid if proxy else None
    res = {}

    def run(mode, args, secs):
        kv, err = socksload(mode, sink_port, port, auth, args, secs + 90)
        if err:
            notes.append("%s: %s" % (name, err))
        return kv or {}

    b = prof["bulk"]
    d = "%g" % b
    res["bulk1"] = run("bulk", ["-d", d, "-c", "1"], b).get("mbps")
    res["bulk8"] = run("bulk", ["-d", d, "-c", "8"], b).get("mbps")
    if prof["upload"]:
        res["bulkup"] = run("bulk", ["-d", d, "-c", "1", "--up"],
                            b).get("mbps")
    kv = run("cps", ["-d", "%g" % prof["cps"], "-c", str(workers)],
             prof["cps"])
    res["cps"] = kv.get("cps")
    res["cps_p50"] = kv.get("p50_us")
    res["cps_p99"] = kv.get("p99_us")
    if kv.get("failed"):
        notes.append("%s: %d cps exchanges failed" % (name, kv["failed"]))
    kv = run("cps", ["-d", "%g" % prof["cps1"], "-c", "1"], prof["cps1"])
    res["one_p50"] = kv.get("p50_us")
    res["one_p99"] = kv.get("p99_us")
    kv = run("latency", ["-d", "%g" % prof["lat"], "-s", "64"], prof["lat"])
    res["rtt_p50"] = kv.get("p50_us")
    res["rtt_p99"] = kv.get("p99_us")
    # UDP ASSOCIATE round trips (microsocks has no UDP: its column
    # stays empty and a note says why).
    kv = run("udp", ["-d", "%g" % prof["lat"], "-c", "1", "-s", "64"],
             prof["lat"])
    kv = kv if kv.get("rtts") else {}
    res["udp1"] = kv.get("rtt_per_s")
    res["udp_p50"] = kv.get("p50_us")
    res["udp_p99"] = kv.get("p99_us")
    kv = run("udp", ["-d", "%g" % prof["lat"], "-c", "8", "-s", "64"],
             prof["lat"])
    kv = kv if kv.get("rtts") else {}
    res["udp8"] = kv.get("rtt_per_s")
    args = ["-n", str(prof["idle"]), "-c", "4", "-d", "%g" %
            prof["idle_open"], "--hold", "1"]
    kv = run("idle", args + (["--pid", str(pid)] if pid else []),
             prof["idle_open"] + 10)
    res["idle_sys"] = kv.get("sys_kb_per_tunnel")
    if pid:
        res["idle_kb"] = kv.get("kb_per_tunnel")
        res["idle_pss"] = kv.get("pss_kb_per_tunnel")
        res["rss0"] = kv.get("rss0_kb")
        if kv and kv.get("tunnels", 0) < prof["idle"]:
            notes.append("%s: only %d of %d idle tunnels opened" %
                         (name, kv.get("tunnels", 0), prof["idle"]))
        if kv.get("procs1", 1) > 1:
            notes.append("%s: memory is summed over %d processes (RSS "
                         "counts shared pages in each; PSS does not)" %
                         (name, kv["procs1"]))
    return res


# ---------------------------------------------------------------- report

ROWS = [
    ("bulk1", "bulk, 1 stream download (MB/s)", 0),
    ("bulk8", "bulk, 8 streams download (MB/s)", 0),
    ("bulkup", "bulk, 1 stream upload (MB/s)", 0),
    ("cps", "conn/s, %(w)d workers (handshake+CONNECT+64 B echo+close)", 0),
    ("cps_p50", "exchange latency p50 under load, %(w)d workers (µs)", 0),
    ("cps_p99", "exchange latency p99 under load, %(w)d workers (µs)", 0),
    ("one_p50", "exchange latency p50, 1 worker (µs)", 1),
    ("one_p99", "exchange latency p99, 1 worker (µs)", 1),
    ("one_add", "added exchange latency p50 vs direct, 1 worker (µs)", 1),
    ("rtt_p50", "64 B round trip in a tunnel, p50 (µs)", 1),
    ("rtt_p99", "64 B round trip in a tunnel, p99 (µs)", 1),
    ("rtt_add", "added round trip p50 vs direct (µs)", 1),
    ("udp1", "UDP round trips/s, 1 association (64 B datagrams)", 0),
    ("udp8", "UDP round trips/s, 8 associations (64 B datagrams)", 0),
    ("udp_p50", "UDP round trip p50, 1 association (µs)", 1),
    ("udp_p99", "UDP round trip p99, 1 association (µs)", 1),
    ("idle_kb", "RSS KiB per idle tunnel", 1),
    ("idle_pss", "PSS KiB per idle tunnel", 1),
    ("idle_sys", "machine memory per idle tunnel, KiB (MemAvailable drop, "
     "all processes + kernel)", 1),
    ("rss0", "proxy RSS at rest, KiB (summed over its processes)", 0),
]


def fmt(v, prec=0):
    if v is None:
        return "—"
    if abs(v) >= 100 or prec == 0:
        return "%.0f" % v
    return "%.*f" % (prec, v)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "—"
    r = a / b
    if abs(r) >= 100:
        return "%.0f" % r
    return "%.2f" % r if abs(r) >= 0.1 else "%.2g" % r


def report(cols, results, workers):
    direct = results.get("direct", {})
    for r in results.values():
        for k, base in (("one_add", "one_p50"), ("rtt_add", "rtt_p50")):
            if r is not direct and r.get(base) is not None and \
                    direct.get(base) is not None:
                r[k] = r[base] - direct[base]
    s = results.get("sks5", {})
    head = ["figure"] + cols + ["sks5/microsocks", "sks5/dante",
                                "sks5/direct"]
    out = ["| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
    for key, label, prec in ROWS:
        if all(results[c].get(key) is None for c in cols):
            continue
        cells = [label % {"w": workers}] + [fmt(results[c].get(key), prec) for c in cols]
        cells += [ratio(s.get(key), results.get("microsocks", {}).get(key)),
                  ratio(s.get(key), results.get("dante", {}).get(key)),
                  ratio(s.get(key), direct.get(key))]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def sanity(results):
    """Cheap plausibility checks on the numbers."""
    d = results.get("direct", {})
    for name, r in results.items():
        if name == "direct":
            continue
        for k in ("bulk1", "bulk8", "cps"):
            if r.get(k) and d.get(k) and r[k] > 1.3 * d[k]:
                notes.append("suspicious: %s %s is above direct (%.0f > "
                             "%.0f); the generator or sink may be the "
                             "bottleneck" % (name, k, r[k], d[k]))
        for k in ("one_p50", "rtt_p50"):
            if r.get(k) and d.get(k) and r[k] < 0.8 * d[k]:
                notes.append("suspicious: %s %s below direct" % (name, k))
    for k in ("bulk1", "bulk8", "cps", "rtt_p50"):
        if k in d and d[k] is None:
            notes.append("direct baseline %s missing: check the sink" % k)


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="short runs (about a minute in all)")
    ap.add_argument("--duration", type=float,
                    help="seconds for every bulk/cps/latency run")
    ap.add_argument("--idle", type=int, help="idle tunnels to hold")
    ap.add_argument("--workers", type=int, default=50,
                    help="cps workers (default 50)")
    ap.add_argument("--only", help="comma list of direct,sks5,microsocks,"
                    "dante,microsocks-noauth,dante-noauth")
    ap.add_argument("--noauth", action="store_true",
                    help="also run microsocks and dante without auth")
    ap.add_argument("--sks5", default=os.path.join(ROOT, "build", "sks5"),
                    help="sks5 binary (default build/sks5)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory (configs, logs)")
    a = ap.parse_args()

    prof = dict(PROFILES["quick" if a.quick else "full"])
    if a.duration:
        prof["bulk"] = prof["cps"] = prof["lat"] = a.duration
    if a.idle:
        prof["idle"] = a.idle
    cols = ["direct", "sks5", "microsocks", "dante"]
    if a.noauth:
        cols += ["microsocks-noauth", "dante-noauth"]
    if a.only:
        cols = [c for c in a.only.split(",") if c]

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    nofile = raise_nofile()
    if nofile < 2 * prof["idle"] + 1000:
        prof["idle"] = max(100, (nofile - 1000) // 3)
        notes.append("open-file limit %d: idle test cut to %d tunnels"
                     % (nofile, prof["idle"]))

    r = subprocess.run(["make", "-s", "-C", HERE], capture_output=True,
                       text=True)
    if r.returncode != 0:
        log(r.stdout + r.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="sks5-bench-")
    results = {}
    try:
        sink = spawn([os.path.join(HERE, "sink")], stdout=subprocess.PIPE,
                     text=True)
        sink_port = int(sink.stdout.readline())
        log("sink on 127.0.0.1:%d, temp dir %s" % (sink_port, tmp))
        starters = {
            "sks5": lambda: start_sks5(tmp, a.sks5),
            "microsocks": lambda: start_microsocks(tmp, True),
            "dante": lambda: start_dante(tmp, True),
            "microsocks-noauth": lambda: start_microsocks(tmp, False),
            "dante-noauth": lambda: start_dante(tmp, False),
        }
        for c in cols:
            results[c] = {}
            proxy = None
            if c != "direct":
                if c not in starters:
                    notes.append("unknown target %s" % c)
                    continue
                proxy, err = starters[c]()
                if proxy is None:
                    notes.append(err)
                    log(err)
                    continue
            log("measuring %s ..." % c)
            results[c] = measure(c, sink_port, proxy,
                                 not c.endswith("-noauth"), prof, a.workers)
            if proxy:
                stop(proxy[0])
                started.remove(proxy[0])
        sanity(results)
    finally:
        cleanup()
        if a.keep:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print("## sks5 SOCKS5 benchmark (%s run, %d CPU cores shared by the "
          "generator, the sink and the proxy)\n" %
          ("quick" if a.quick else "full", os.cpu_count() or 0))
    print("bulk %gs, cps %gs with %d workers, latency %gs, idle %d tunnels; "
          "auth: user/password (RFC 1929) for every proxy unless marked "
          "-noauth. For latency and memory rows lower is better, so a "
          "ratio above 1 means sks5 is worse there.\n" %
          (prof["bulk"], prof["cps"], a.workers, prof["lat"], prof["idle"]))
    print(report(cols, results, a.workers))
    if notes:
        print("\nNotes:")
        for n in notes:
            print("- " + n)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        cleanup()
