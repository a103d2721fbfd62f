"""SSH logins in the audit log: auth.success and auth.failure events with
the method name and never a secret, as SOCKS5 writes them. Loopback only."""
import subprocess

from test_mgmt import audit_events, wait_for
from test_ssh import (PASSWORD, TOTP_SECRET, USER, env, pub,  # noqa: F401
                      sign)


def test_ssh_auth_events_in_audit_log(env):
    path = str(env.tmp / "audit.jsonl")
    env.start(env.user(keys=[open(str(env.key) + ".pub").read().strip()]),
              extra='[logging]\naudit_log_path = "%s"\n' % path)
    r = env.run(env.pw_args(), cmd="whoami", password=PASSWORD)
    assert r.returncode != 255, r.stderr
    r = env.run(env.pw_args(), cmd="whoami", password="wrong-pw-4711")
    assert r.returncode == 255
    r = env.run(env.ssh_args(env.key), cmd="whoami")
    assert r.returncode != 255, r.stderr

    def ready():
        e = [x for x in audit_events(path) if x.get("protocol") == "ssh"]
        ok = [x for x in e if x["event_type"] == "auth.success"]
        bad = [x for x in e if x["event_type"] == "auth.failure"]
        return (ok, bad) if len(ok) >= 2 and bad else None
    ok, bad = wait_for(ready, "ssh auth events")
    assert sorted(x["method"] for x in ok) == ["password", "publickey"]
    assert all(x["username"] == USER for x in ok + bad)
    assert all(x["source_ip"] == "127.0.0.1" for x in ok + bad)
    assert bad[0]["method"] == "password"
    assert bad[0]["reason"] == "wrong password"
    text = open(path).read()
    assert PASSWORD not in text and "wrong-pw-4711" not in text


def audit_ssh(path, n):
    def ready():
        e = [x for x in audit_events(path) if x.get("protocol") == "ssh"]
        return e if len(e) >= n else None
    return wait_for(ready, "%d ssh auth events" % n)


def test_ssh_certificate_events(env):
    path = str(env.tmp / "audit.jsonl")
    sign(env.ca, env.key, "alice")
    env.start(env.user(password=None),
              security='trusted_user_ca_keys = ["%s"]' % pub(env.ca),
              extra='[logging]\naudit_log_path = "%s"\n' % path)
    r = env.run(env.ssh_args(env.key), cmd="whoami")
    assert r.returncode != 255, r.stderr
    evs = audit_ssh(path, 1)
    assert (evs[0]["event_type"], evs[0]["method"]) == ("auth.success", "certificate")
    # A refused certificate is refused at its unsigned query, which does
    # not count (as for a plain key): no failure event, but the log says it.
    sign(env.ca, env.key, "bob")          # not a principal for alice
    r = env.run(env.ssh_args(env.key), cmd="whoami")
    assert r.returncode == 255
    env.server.wait_log("not a principal")
    assert len(audit_ssh(path, 1)) == 1


def test_ssh_keyboard_interactive_events(env):
    path = str(env.tmp / "audit.jsonl")
    env.start(env.user(keys=[pub(env.key)], more='totp_enabled = true\n'
                       'totp_secret = "%s"\n'
                       'auth_methods = ["publickey", "keyboard-interactive"]\n'
                       % TOTP_SECRET),
              extra='[logging]\naudit_log_path = "%s"\n' % path)
    args = env.ssh_args(batch=False, extra=[
        "-i", str(env.key), "-o", "IdentitiesOnly=yes",
        "-o", "PreferredAuthentications=publickey,keyboard-interactive",
        "-o", "NumberOfPasswordPrompts=1"])
    code = subprocess.run(["oathtool", "--totp", "-b", TOTP_SECRET],
                          capture_output=True, text=True, check=True).stdout.strip()
    wrong = "%06d" % ((int(code) + 500000) % 1000000)
    r = env.run(args, cmd="whoami", password="unused",
                env_extra={"SKS5_T_CODE": wrong})
    assert r.returncode == 255
    r = env.run(args, cmd="whoami", password="unused",
                env_extra={"SKS5_T_CODE": code})
    assert r.returncode != 255, r.stderr
    evs = audit_ssh(path, 2)
    fail = [e for e in evs if e["event_type"] == "auth.failure"]
    ok = [e for e in evs if e["event_type"] == "auth.success"]
    assert fail and fail[0]["method"] == "keyboard-interactive"
    assert fail[0]["reason"] == "wrong TOTP code"
    assert [e["method"] for e in ok] == ["publickey+keyboard-interactive"]
    text = open(path).read()
    assert code not in text and wrong not in text
