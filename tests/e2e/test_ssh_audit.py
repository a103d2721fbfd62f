"""SSH logins in the audit log: auth.success and auth.failure events with
the method name and never a secret, as SOCKS5 writes them. Loopback only."""
from test_mgmt import audit_events, wait_for
from test_ssh import Env, PASSWORD, USER, env  # noqa: F401 (fixture)


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
