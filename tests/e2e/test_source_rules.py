"""House rules of STYLE.md that a machine can check: every header compiles
on its own, and module dependencies run one way."""
import glob
import os
import re
import subprocess

import pytest

from conftest import REPO

HEADERS = sorted(glob.glob(os.path.join(REPO, "src", "**", "*.h"), recursive=True))

# Which modules each module may include (besides itself).
ALLOWED = {
    "core": set(),
    "config": {"core"},
    "policy": {"core", "config"},
    "auth": {"core", "config"},
    "store": {"core"},
    "obs": {"core"},
    "net": {"core"},
    "socks5": {"core", "net", "policy", "auth", "config"},
    "ssh": {"core", "net", "policy", "auth", "shell", "config"},
    "shell": {"core", "policy", "config"},
    "admin": {"core", "config", "policy", "store", "obs", "persist"},
    # DESIGN.md's store/: it saves and restores policy and shell state.
    "persist": {"core", "config", "policy", "shell"},
}


def pkg_cflags():
    r = subprocess.run(["pkg-config", "--cflags", "libsodium", "openssl", "jansson"],
                       capture_output=True, text=True)
    return r.stdout.split()


@pytest.mark.parametrize("header", HEADERS, ids=lambda p: os.path.relpath(p, REPO))
def test_header_is_self_contained(header, tmp_path):
    rel = os.path.relpath(header, os.path.join(REPO, "src"))
    src = tmp_path / "one.c"
    src.write_text('#include "%s"\n#include "%s"\nint sks5_header_probe;\n' % (rel, rel))
    r = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror",
                        "-fsyntax-only", "-I", os.path.join(REPO, "src")] + pkg_cflags() +
                       [str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_headers_exist():
    assert len(HEADERS) >= 5


def test_module_dependencies_run_one_way():
    bad = []
    for path in glob.glob(os.path.join(REPO, "src", "*", "*.[ch]")):
        mod = os.path.basename(os.path.dirname(path))
        if mod not in ALLOWED and mod != "cli":
            continue
        with open(path, errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([a-z0-9_]+)/', line)
                if not m:
                    continue
                dep = m.group(1)
                if mod == "cli" or dep == mod:
                    continue
                if dep not in ALLOWED.get(mod, set()):
                    bad.append("%s:%d: %s includes %s" % (os.path.relpath(path, REPO), n, mod, dep))
    assert not bad, "\n".join(bad)


def test_guards_follow_the_naming_rule():
    bad = []
    for h in HEADERS:
        text = open(h).read()
        m = re.search(r"#ifndef\s+(\S+)", text)
        if not m or not m.group(1).startswith("SKS5_") or m.group(1).startswith("_"):
            bad.append(os.path.relpath(h, REPO))
    assert not bad, bad
