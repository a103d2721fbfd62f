"""The command-line interface, driven through the real binary: exit codes,
--help and --version, hash-password (stdin and a pty without echo), init for
every preset (then check-config), show-config redaction, generate-totp,
health-check, ssh-config, completions and the man page."""
import base64
import ctypes
import ctypes.util
import json
import os
import pty
import re
import select
import shutil
import socket
import stat
import subprocess
import time
import urllib.parse

import pytest

from conftest import assert_no_sanitizer_report, binary

COMMANDS = ["check-config", "show-config", "hash-password", "init", "quick-start",
            "generate-totp", "health-check", "ssh-config", "completions",
            "manpage", "help"]
LATER = ["wizard", "demo", "backup", "restore"]
PHC_RE = re.compile(r"^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+"
                    r"\$[A-Za-z0-9+/]+$")


def clean_env(tmp_path, **extra):
    """The environment without any SKS5_* variable, HOME in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKS5_")}
    env["HOME"] = str(tmp_path)
    env.update(extra)
    return env


def run(args, tmp_path, stdin=None, env=None, timeout=60):
    p = subprocess.run([binary()] + args, cwd=tmp_path, input=stdin,
                       stdin=subprocess.DEVNULL if stdin is None else None,
                       capture_output=True, text=True, timeout=timeout,
                       env=env if env is not None else clean_env(tmp_path))
    assert_no_sanitizer_report(p.stderr)
    return p


def init(tmp_path, *args, password="correct horse"):
    return run(["init"] + list(args), tmp_path, stdin=password + "\n")


def sodium_verify(phc, password):
    """Checks a PHC string with libsodium through ctypes; None if absent."""
    name = ctypes.util.find_library("sodium")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    assert lib.sodium_init() >= 0
    pw = password.encode()
    return lib.crypto_pwhash_str_verify(phc.encode(), pw,
                                        ctypes.c_ulonglong(len(pw))) == 0


# --- version, help, usage errors ------------------------------------------

def test_version(sks5_bin, tmp_path):
    for flag in ("--version", "-V"):
        p = run([flag], tmp_path)
        assert p.returncode == 0
        assert re.fullmatch(r"sks5 \d+\.\d+\.\d+\n", p.stdout)


def test_help_lists_only_this_builds_commands(sks5_bin, tmp_path):
    p = run(["--help"], tmp_path)
    assert p.returncode == 0
    for c in COMMANDS:
        assert "\n  %s " % c in p.stdout
    for c in LATER:
        assert c not in p.stdout
    for opt in ("--config", "--log-level", "--force-env", "--data-dir",
                "--ssh-listen", "--set", "--version"):
        assert opt in p.stdout
    assert run(["help"], tmp_path).stdout == p.stdout


@pytest.mark.parametrize("cmd", COMMANDS)
def test_every_command_has_help(sks5_bin, tmp_path, cmd):
    for args in ([cmd, "--help"], [cmd, "-h"], ["--help", cmd],
                 ["help", cmd]):
        p = run(args, tmp_path)
        assert p.returncode == 0, args
        assert p.stdout.startswith("Usage: sks5 %s" % cmd)
        assert "Example:\n  sks5 " in p.stdout
        assert "--help" in p.stdout
        assert max(len(line) for line in p.stdout.splitlines()) <= 80


@pytest.mark.parametrize("args,needle", [
    (["--bogus"], "unknown option '--bogus'"),
    (["-x"], "unknown option '-x'"),
    (["chek-config"], "did you mean 'check-config'"),
    (["hash-pasword"], "did you mean 'hash-password'"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["wizard"], "unknown command"),
    (["backup"], "unknown command"),
    (["show-config", "--format", "yaml"], "invalid value 'yaml'"),
    (["--log-level", "loud"], "invalid value 'loud'"),
    (["--set", "novalue"], "KEY=VALUE"),
    (["-c"], "needs a value"),
    (["--force-env=yes"], "takes no value"),
    (["--format", "json", "show-config"], "after the command"),
    (["completions"], "missing argument SHELL"),
    (["completions", "tcsh"], "invalid SHELL"),
    (["check-config", "extra"], "unexpected argument"),
    (["init", "--preset", "castle"], "invalid value 'castle'"),
    (["ssh-config", "--host", "h"], "--user and --host are required"),
    (["health-check", "--timeout", "0"], "--timeout"),
    (["health-check", "--timeout", "abc"], "--timeout"),
    (["generate-totp"], "missing --username"),
    (["help", "nope"], "unknown command 'nope'"),
])
def test_usage_errors_exit_2(sks5_bin, tmp_path, args, needle):
    p = run(args, tmp_path)
    assert p.returncode == 2, (args, p.stderr)
    assert needle in p.stderr
    assert "try 'sks5" in p.stderr and "--help'" in p.stderr
    assert p.stdout == ""


def test_bad_force_env_variable_is_usage_error(sks5_bin, tmp_path):
    p = run(["check-config"], tmp_path,
            env=clean_env(tmp_path, SKS5_FORCE_ENV="maybe"))
    assert p.returncode == 2
    assert "SKS5_FORCE_ENV" in p.stderr


# --- hash-password ----------------------------------------------------------

def test_hash_password_from_stdin(sks5_bin, tmp_path):
    a = run(["hash-password"], tmp_path, stdin="s3cret pass\n")
    b = run(["hash-password"], tmp_path, stdin="s3cret pass\r\n")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    ha, hb = a.stdout.rstrip("\n"), b.stdout.rstrip("\n")
    assert a.stdout.endswith("\n") and a.stdout.count("\n") == 1
    assert PHC_RE.match(ha) and PHC_RE.match(hb)
    assert ha != hb                     # a random salt each time
    assert "s3cret" not in a.stderr
    ok = sodium_verify(ha, "s3cret pass")
    if ok is not None:
        assert ok
        assert sodium_verify(hb, "s3cret pass")     # "\r\n" stripped
        assert not sodium_verify(ha, "s3cret pass\n")


def test_hash_password_option_warns(sks5_bin, tmp_path):
    p = run(["hash-password", "-p", "pw-on-argv"], tmp_path)
    assert p.returncode == 0
    assert PHC_RE.match(p.stdout.strip())
    assert "process list" in p.stderr
    p = run(["hash-password", "--password=pw2"], tmp_path)
    assert p.returncode == 0 and PHC_RE.match(p.stdout.strip())


@pytest.mark.parametrize("stdin", ["", "\n", "\r\n"])
def test_hash_password_empty(sks5_bin, tmp_path, stdin):
    p = run(["hash-password"], tmp_path, stdin=stdin)
    assert p.returncode == 1
    assert "Error: empty password" in p.stderr
    assert p.stdout == ""
    assert run(["hash-password", "-p", ""], tmp_path).returncode == 1


def test_hash_password_too_long(sks5_bin, tmp_path):
    p = run(["hash-password"], tmp_path, stdin="x" * 5000 + "\n")
    assert p.returncode == 1
    assert "too long" in p.stderr


def test_hash_password_cost_from_config(sks5_bin, tmp_path):
    """With -c, the cost of the new hash is security.argon2_* of that
    configuration; out-of-range costs are refused with the key named."""
    base = run(["hash-password", "-p", "x"], tmp_path).stdout.strip()
    assert PHC_RE.match(base)

    def conf(name, security):
        path = tmp_path / name
        path.write_text('[server]\nsocks5_listen = "127.0.0.1:1080"\n'
                        '[security]\n%s\n[[users]]\nusername = "a"\n'
                        'password_hash = "%s"\n' % (security, base))
        os.chmod(path, 0o600)
        return str(path)

    good = conf("good.toml", "argon2_memory_cost = 64\nargon2_time_cost = 3")
    p = run(["-c", good, "hash-password"], tmp_path, stdin="s3cret\n")
    assert p.returncode == 0, p.stderr
    h = p.stdout.strip()
    assert re.match(r"^\$argon2id\$v=19\$m=64,t=3,p=1\$", h), h
    ok = sodium_verify(h, "s3cret")
    assert ok is None or ok
    # the hash made loads back as a password_hash
    conf("back.toml", "")
    (tmp_path / "back.toml").write_text(
        (tmp_path / "back.toml").read_text().replace(base, h))
    p = run(["-c", str(tmp_path / "back.toml"), "check-config"], tmp_path)
    assert p.returncode == 0, p.stderr
    # without -c: the defaults, whatever config.toml lies in the directory
    (tmp_path / "config.toml").write_text(open(good).read())
    p = run(["hash-password"], tmp_path, stdin="s3cret\n")
    assert p.returncode == 0 and PHC_RE.match(p.stdout.strip())
    for sec, msg in (("argon2_parallelism = 4",
                      "security.argon2_parallelism: must be 1"),
                     ("argon2_memory_cost = 4",
                      "security.argon2_memory_cost: 4 KiB is out of range"),
                     ("argon2_time_cost = 0",
                      "security.argon2_time_cost: 0 is out of range")):
        p = run(["-c", conf("bad.toml", sec), "hash-password"], tmp_path,
                stdin="s3cret\n")
        assert p.returncode == 1, p.stdout
        assert msg in p.stderr
        assert p.stdout == ""


def pty_run(args, tmp_path, answers):
    """Runs sks5 on a pty, typing each answer after its prompt. Returns
    (exit code, everything the terminal showed)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(str(tmp_path))
        os.execve(binary(), [binary()] + args, clean_env(tmp_path))
    seen = b""
    deadline = time.time() + 60
    pending = list(answers)
    while time.time() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if pending and seen.rstrip().endswith(pending[0][0].encode()):
            os.write(fd, pending[0][1].encode() + b"\n")
            seen += b"<sent>"
            pending.pop(0)
    if pending or time.time() >= deadline:
        os.kill(pid, 9)      # never hang the suite on a stuck prompt
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


def test_hash_password_tty_no_echo(sks5_bin, tmp_path):
    rc, out = pty_run(["hash-password"], tmp_path,
                      [("Password:", "Tty-Secret-42"),
                       ("Confirm:", "Tty-Secret-42")])
    assert rc == 0, out
    assert "Tty-Secret-42" not in out
    assert re.search(r"\$argon2id\$v=19\$m=19456,t=2,p=1\$", out)


def test_hash_password_tty_mismatch(sks5_bin, tmp_path):
    rc, out = pty_run(["hash-password"], tmp_path,
                      [("Password:", "first-one"), ("Confirm:", "second")])
    assert rc == 1
    assert "do not match" in out
    assert "first-one" not in out and "$argon2id$" not in out


# --- init, check-config, show-config -----------------------------------------

@pytest.mark.parametrize("preset", [None, "bastion", "proxy", "dev"])
def test_init_presets_pass_check_config(sks5_bin, tmp_path, preset):
    args = ["-o", "gen.toml", "--username", "alice"]
    if preset:
        args += ["--preset", preset]
    p = init(tmp_path, *args)
    assert p.returncode == 0, p.stderr
    path = tmp_path / "gen.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert "correct horse" not in text
    assert "correct horse" not in p.stderr + p.stdout
    m = re.search(r'password_hash = "([^"]+)"', text)
    assert m and PHC_RE.match(m.group(1))
    assert m.group(1) not in p.stderr + p.stdout
    assert 'username = "alice"' in text
    assert "check-config" in p.stderr       # next steps
    c = run(["-c", "gen.toml", "check-config"], tmp_path)
    assert c.returncode == 0, c.stderr + "\n" + text
    assert c.stdout.startswith("Configuration is valid.\n")
    assert re.search(r"^  users: 1$", c.stdout, re.M)
    assert re.search(r"^  source: .*gen\.toml$", c.stdout, re.M)
    assert re.search(r"^  ssh: ", c.stdout, re.M)
    assert re.search(r"^  socks5: ", c.stdout, re.M)
    # options after the command work the same
    c2 = run(["check-config", "--config=gen.toml"], tmp_path)
    assert c2.returncode == 0 and c2.stdout == c.stdout
    ok = sodium_verify(m.group(1), "correct horse")
    if ok is not None:
        assert ok


def test_init_mode_0600_despite_umask(sks5_bin, tmp_path):
    old = os.umask(0)
    try:
        p = init(tmp_path, "-o", "a.toml")
        assert p.returncode == 0, p.stderr
        p = init(tmp_path, "-o", "a.toml", "--force")
        assert p.returncode == 0, p.stderr
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.toml").stat().st_mode) == 0o600


def test_init_refuses_overwrite_then_force(sks5_bin, tmp_path):
    target = tmp_path / "config.toml"
    target.write_text("keep me\n")
    os.chmod(target, 0o644)
    p = init(tmp_path)
    assert p.returncode == 1
    assert "already exists" in p.stderr and "--force" in p.stderr
    assert target.read_text() == "keep me\n"
    p = init(tmp_path, "--force")
    assert p.returncode == 0, p.stderr
    assert "password_hash" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # no temporary file left behind
    assert sorted(os.listdir(tmp_path)) == ["config.toml"]


def test_init_refuses_dangling_symlink(sks5_bin, tmp_path):
    os.symlink(str(tmp_path / "elsewhere"), str(tmp_path / "config.toml"))
    p = init(tmp_path)
    assert p.returncode == 1
    assert not (tmp_path / "elsewhere").exists()


def test_init_password_option_and_errors(sks5_bin, tmp_path):
    p = run(["init", "-o", "b.toml", "--password", "opt-pass"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert "process list" in p.stderr and "opt-pass" not in p.stderr
    p = run(["init", "-o", "c.toml"], tmp_path, stdin="\n")
    assert p.returncode == 1 and "empty password" in p.stderr
    assert not (tmp_path / "c.toml").exists()
    p = run(["init", "-o", "no/such/dir/c.toml", "--password", "x"],
            tmp_path)
    assert p.returncode == 1 and "Error:" in p.stderr
    p = run(["init", "-o", "d.toml", "--username", ""], tmp_path,
            stdin="pw\n")
    assert p.returncode == 2


def test_init_escapes_username(sks5_bin, tmp_path):
    p = init(tmp_path, "-o", "q.toml", "--username", 'we"ird\\name')
    assert p.returncode == 0, p.stderr
    c = run(["-c", "q.toml", "show-config", "--format", "json"], tmp_path)
    assert c.returncode == 0, c.stderr
    users = json.loads(c.stdout)["users"]
    assert users[0]["username"] == 'we"ird\\name'


@pytest.fixture
def generated(sks5_bin, tmp_path):
    p = init(tmp_path, "-o", "s.toml", "--username", "carol")
    assert p.returncode == 0, p.stderr
    text = (tmp_path / "s.toml").read_text()
    return re.search(r'password_hash = "([^"]+)"', text).group(1)


def test_show_config_redacts_toml(generated, tmp_path):
    p = run(["-c", "s.toml", "show-config"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert generated not in p.stdout
    assert "$argon2id$" not in p.stdout
    assert "***" in p.stdout
    assert "carol" in p.stdout
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]


def test_show_config_redacts_json(generated, tmp_path):
    p = run(["show-config", "-c", "s.toml", "--format", "json"], tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert generated not in p.stdout
    assert doc["users"][0]["password_hash"] == "***"


def test_no_config_is_an_error_and_writes_nothing(sks5_bin, tmp_path):
    for args in (["check-config"], ["show-config"], []):
        p = run(args, tmp_path)
        assert p.returncode == 1, (args, p.stderr)
        assert p.stderr.strip() != ""
        assert os.listdir(tmp_path) == [], args


def test_explicit_missing_config(sks5_bin, tmp_path):
    p = run(["-c", "nope.toml", "check-config"], tmp_path)
    assert p.returncode == 1
    assert "Configuration is invalid: " in p.stderr
    p = run(["check-config"], tmp_path,
            env=clean_env(tmp_path, SKS5_CONFIG="nope.toml"))
    assert p.returncode == 1


def test_check_config_broken_file(sks5_bin, tmp_path):
    (tmp_path / "bad.toml").write_text('[server]\nssh_listen = "x\n')
    p = run(["-c", "bad.toml", "check-config"], tmp_path)
    assert p.returncode == 1
    assert re.search(r"bad\.toml:\d+:\d+", p.stderr), p.stderr
    assert re.search(r"Configuration is invalid: \d+ error\(s\)\.",
                     p.stderr)
    assert p.stdout == ""
    p = run(["-c", "bad.toml", "show-config"], tmp_path)
    assert p.returncode == 1 and p.stdout == ""


def test_check_config_applies_set_overrides(generated, tmp_path):
    p = run(["-c", "s.toml", "check-config", "--set",
             "limits.max_connections=notanumber"], tmp_path)
    assert p.returncode == 1, p.stdout
    p = run(["-c", "s.toml", "--set", "no.such.key=1", "check-config"],
            tmp_path)
    assert p.returncode == 1


# --- generate-totp ------------------------------------------------------------

def parse_totp(out):
    secret = re.search(r"^Secret: ([A-Z2-7]+)$", out, re.M).group(1)
    url = re.search(r"^URL: (\S+)$", out, re.M).group(1)
    return secret, url


@pytest.mark.parametrize("args,user", [
    (["--username", "alice"], "alice"),
    (["bob"], "bob"),
    (["--username", "a b@c/d"], "a b@c/d"),
])
def test_generate_totp(sks5_bin, tmp_path, args, user):
    p = run(["generate-totp"] + args, tmp_path)
    assert p.returncode == 0, p.stderr
    secret, url = parse_totp(p.stdout)
    assert len(secret) == 32
    raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
    assert len(raw) == 20
    u = urllib.parse.urlsplit(url)
    assert u.scheme == "otpauth" and u.netloc == "totp"
    assert urllib.parse.unquote(u.path) == "/sks5:" + user
    assert " " not in url and "@" not in u.path
    q = urllib.parse.parse_qs(u.query)
    assert q == {"secret": [secret], "issuer": ["sks5"],
                 "algorithm": ["SHA1"], "digits": ["6"], "period": ["30"]}
    assert "totp_enabled = true\n" in p.stdout
    assert 'totp_secret = "%s"\n' % secret in p.stdout
    again = parse_totp(run(["generate-totp"] + args, tmp_path).stdout)[0]
    assert again != secret
    if shutil.which("oathtool"):
        o = subprocess.run(["oathtool", "--totp", "-b", secret],
                           capture_output=True, text=True)
        assert o.returncode == 0 and re.fullmatch(r"\d{6}\n", o.stdout)


def test_generate_totp_conflicting_names(sks5_bin, tmp_path):
    assert run(["generate-totp", "--username", "a", "b"],
               tmp_path).returncode == 2
    assert run(["generate-totp", "--username", "a\nb"],
               tmp_path).returncode == 2


# --- health-check ------------------------------------------------------------

@pytest.fixture
def listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    yield s.getsockname()[1]
    s.close()


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_health_check_ok(sks5_bin, tmp_path, listener):
    addr = "127.0.0.1:%d" % listener
    p = run(["health-check", "--addr", addr, "--timeout", "2"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "OK: %s is reachable\n" % addr
    p = run(["health-check", "--addr", "localhost:%d" % listener], tmp_path)
    assert p.returncode == 0, p.stderr


def test_health_check_fail(sks5_bin, tmp_path):
    addr = "127.0.0.1:%d" % closed_port()
    p = run(["health-check", "--addr", addr, "--timeout", "2"], tmp_path)
    assert p.returncode == 1
    assert p.stderr.startswith("FAIL: %s: " % addr)
    assert p.stdout == ""


def test_health_check_ipv6(sks5_bin, tmp_path):
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    s.listen(1)
    try:
        p = run(["health-check", "--addr", "[::1]:%d" % s.getsockname()[1]],
                tmp_path)
        assert p.returncode == 0, p.stderr
    finally:
        s.close()


@pytest.mark.parametrize("addr", ["example.com:80", "nonsense", "1.2.3.4",
                                  "127.0.0.1:0", "127.0.0.1:70000",
                                  "::1:22", "*:22", ""])
def test_health_check_invalid(sks5_bin, tmp_path, addr):
    p = run(["health-check", "--addr", addr], tmp_path)
    assert p.returncode == 1, addr
    assert "Invalid address" in p.stderr


# --- ssh-config ------------------------------------------------------------

def ssh_g(tmp_path, text, name):
    f = tmp_path / "ssh_config"
    f.write_text(text)
    p = subprocess.run(["ssh", "-G", "-F", str(f), name],
                       capture_output=True, text=True, env=clean_env(tmp_path))
    assert p.returncode == 0, p.stderr
    return dict(line.split(" ", 1) for line in p.stdout.splitlines()
                if " " in line)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="no ssh client")
def test_ssh_config_parses_back(sks5_bin, tmp_path):
    p = run(["ssh-config", "--user", "alice", "--host", "bastion.example.com",
             "--port", "2022", "--name", "jump", "--dynamic-forward", "1085"],
            tmp_path)
    assert p.returncode == 0, p.stderr
    assert "StrictHostKeyChecking no" not in p.stdout
    assert "/dev/null" not in p.stdout
    g = ssh_g(tmp_path, p.stdout, "jump")
    assert g["user"] == "alice"
    assert g["hostname"] == "bastion.example.com"
    assert g["port"] == "2022"
    assert g["stricthostkeychecking"] == "ask"
    assert g["serveraliveinterval"] == "30"
    assert g["serveralivecountmax"] == "3"
    assert "1085" in g["dynamicforward"]
    p = run(["ssh-config", "--user", "bob", "--host", "10.0.0.5"], tmp_path)
    g = ssh_g(tmp_path, p.stdout, "sks5-proxy")
    assert g["port"] == "2222" and g["user"] == "bob"
    assert "dynamicforward" not in g


@pytest.mark.parametrize("args", [
    ["--user", "a b", "--host", "h"],
    ["--user", "a", "--host", "h\nProxyCommand evil"],
    ["--user", "a", "--host", "h", "--name", "*"],
    ["--user", "a", "--host", "h", "--name", "x y"],
    ["--user", "a#", "--host", "h"],
    ["--user", "%u", "--host", "h"],
    ["--user", "a", "--host", "h", "--port", "0"],
    ["--user", "a", "--host", "h", "--port", "65536"],
    ["--user", "a", "--host", "h", "--dynamic-forward", "x"],
    ["--user", "", "--host", "h"],
])
def test_ssh_config_rejects_unsafe_values(sks5_bin, tmp_path, args):
    p = run(["ssh-config"] + args, tmp_path)
    assert p.returncode == 2, args
    assert p.stdout == ""


# --- completions, manpage --------------------------------------------------------

def test_completions_bash(sks5_bin, tmp_path):
    p = run(["completions", "bash"], tmp_path)
    assert p.returncode == 0
    f = tmp_path / "c.bash"
    f.write_text(p.stdout)
    assert subprocess.run(["bash", "-n", str(f)]).returncode == 0
    script = ('source %s; COMP_WORDS=(sks5 init --preset ""); COMP_CWORD=3; '
              '_sks5; echo "${COMPREPLY[*]}"; COMP_WORDS=(sks5 -c x he); '
              'COMP_CWORD=3; _sks5; echo "${COMPREPLY[*]}"' % f)
    out = subprocess.run(["bash", "-c", script], capture_output=True,
                         text=True).stdout.splitlines()
    assert out == ["bastion proxy dev", "health-check help"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_completions_other_shells(sks5_bin, tmp_path, shell):
    p = run(["completions", shell], tmp_path)
    assert p.returncode == 0
    for c in COMMANDS:
        assert c in p.stdout
    if shutil.which(shell) is None:
        pytest.skip("%s not installed" % shell)
    f = tmp_path / ("c." + shell)
    f.write_text(p.stdout)
    assert subprocess.run([shell, "-n", str(f)]).returncode == 0


def test_manpage(sks5_bin, tmp_path):
    p = run(["manpage"], tmp_path)
    assert p.returncode == 0
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS",
                    "COMMANDS", "ENVIRONMENT", "EXIT STATUS", "FILES",
                    "SEE ALSO"):
        assert "\n.SH %s\n" % section in p.stdout
    for var in ("SKS5_CONFIG", "SKS5_FORCE_ENV", "SKS5_DATA_DIR",
                "docs/CONFIG.md"):
        assert var in p.stdout
    if shutil.which("groff") is None:
        pytest.skip("groff not installed")
    g = subprocess.run(["groff", "-man", "-ww", "-z"], input=p.stdout,
                       capture_output=True, text=True)
    assert g.returncode == 0 and g.stderr == "", g.stderr
    g = subprocess.run(["groff", "-man", "-Tutf8"], input=p.stdout,
                       capture_output=True, text=True)
    for c in COMMANDS:
        assert c in g.stdout.replace("\u2010", "-").replace("\u2212", "-")
