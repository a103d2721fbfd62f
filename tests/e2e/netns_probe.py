"""Run inside a fresh network namespace (unshare -n -m) by
test_socks5.py::test_unreachable_codes_in_netns. The namespace has only
lo, so no packet can leave the machine: 10.0.0.0/8 has no route at all
(ENETUNREACH), and 192.0.2.0/24 is routed into lo where nothing owns it,
so SYNs vanish and connects time out. Prints one line per probe:
"<target> <reply code>"."""
import subprocess
import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from sks5_server import Server, free_port  # noqa: E402
import test_socks5 as t  # noqa: E402


def main():
    tmp = pathlib.Path(sys.argv[1])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "route", "add", "192.0.2.0/24", "dev", "lo"],
                   check=True)
    port = free_port()
    s = Server(tmp, t.config(port))
    s.wait_port(port)
    try:
        for host in ("10.9.9.9", "192.0.2.5"):
            c, rep, _ = t.socks_connect(port, 1, host, 80)
            c.close()
            print(host, rep, flush=True)
    finally:
        rc = s.stop()
    print("exit", rc, flush=True)


main()
