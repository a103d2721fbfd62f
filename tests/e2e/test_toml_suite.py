"""Runs the toml-test suite (TOML 1.0.0 file list) against build/toml2json.

Valid documents must parse and produce the expected tagged JSON (compared
semantically); invalid documents must be refused with exit status 1 and a
"NAME:LINE:COL: message" on stderr.
"""
import datetime
import json
import math
import os
import re
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SUITE = os.path.join(REPO, "..", "shared", "toml-test")
TESTS = os.path.join(SUITE, "tests")
LIST = os.path.join(TESTS, "files-toml-1.0.0")
ERR_RE = re.compile(r"^.*:(\d+):(\d+): \S.*$")

if not os.path.isfile(LIST):
    pytest.skip("toml-test suite not found at %s" % SUITE,
                allow_module_level=True)


def toml2json_bin():
    build = os.environ.get("SKS5_BUILD", "build")
    return os.path.join(REPO, build, "toml2json")


def load_cases():
    """Returns (valid, invalid) lists of .toml paths from the file list."""
    valid, invalid = [], []
    with open(LIST, encoding="utf-8") as f:
        for line in f:
            path = line.strip()
            if not path.endswith(".toml"):
                continue
            if path.startswith("valid/"):
                valid.append(path)
            elif path.startswith("invalid/"):
                invalid.append(path)
    return valid, invalid


VALID, INVALID = load_cases()


def run(data):
    """Feeds bytes to toml2json; returns (exit status, stdout, stderr)."""
    p = subprocess.run([toml2json_bin()], input=data, capture_output=True,
                       timeout=30)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8",
                                                                    "replace")


DT_RE = re.compile(
    r"^(?:(\d{4})-(\d{2})-(\d{2}))?(?:[Tt ]?(\d{2}):(\d{2}):(\d{2})"
    r"(?:\.(\d+))?)?([Zz]|[+-]\d{2}:\d{2})?$")


def parse_dt(text):
    """Parses RFC 3339 text into a comparable tuple (millisecond precision).

    Offset date-times are converted to UTC so that Z and +00:00 match.
    """
    m = DT_RE.match(text)
    assert m is not None, "not an RFC 3339 value: %r" % text
    y, mo, d, h, mi, s, frac, off = m.groups()
    ms = int((frac or "0")[:3].ljust(3, "0"))
    if y is None:
        return ("time", int(h), int(mi), int(s), ms)
    if h is None:
        return ("date", int(y), int(mo), int(d))
    sec = min(int(s), 59)  # datetime cannot hold a leap second
    value = datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), sec,
                              ms * 1000)
    if off is None:
        return ("local", value, int(s))
    if off not in ("Z", "z"):
        sign = -1 if off[0] == "-" else 1
        delta = datetime.timedelta(hours=int(off[1:3]), minutes=int(off[4:6]))
        value -= sign * delta
    return ("offset", value, int(s))


def same_float(a, b):
    """Compares float texts numerically; nan equals nan."""
    fa, fb = float(a), float(b)
    if math.isnan(fa) or math.isnan(fb):
        return math.isnan(fa) and math.isnan(fb)
    return fa == fb


def compare(got, want, where="$"):
    """Asserts tagged JSON got equals want, semantically."""
    if isinstance(want, dict) and set(want) == {"type", "value"} and \
            isinstance(want["value"], str):
        assert isinstance(got, dict) and set(got) == {"type", "value"}, \
            "%s: expected a %s scalar, got %r" % (where, want["type"], got)
        assert got["type"] == want["type"], \
            "%s: type %s != %s" % (where, got["type"], want["type"])
        t, g, w = want["type"], got["value"], want["value"]
        if t == "float":
            assert same_float(g, w), "%s: %s != %s" % (where, g, w)
        elif t in ("datetime", "datetime-local", "date-local", "time-local"):
            assert parse_dt(g) == parse_dt(w), "%s: %s != %s" % (where, g, w)
        elif t == "integer":
            assert int(g) == int(w), "%s: %s != %s" % (where, g, w)
        else:
            assert g == w, "%s: %r != %r" % (where, g, w)
    elif isinstance(want, dict):
        assert isinstance(got, dict), "%s: expected a table" % where
        assert sorted(got) == sorted(want), \
            "%s: keys %s != %s" % (where, sorted(got), sorted(want))
        for k in want:
            compare(got[k], want[k], "%s.%s" % (where, k))
    else:
        assert isinstance(want, list) and isinstance(got, list), \
            "%s: expected an array" % where
        assert len(got) == len(want), \
            "%s: length %d != %d" % (where, len(got), len(want))
        for i, (g, w) in enumerate(zip(got, want)):
            compare(g, w, "%s[%d]" % (where, i))


def test_case_count():
    assert len(VALID) == 210
    assert len(INVALID) == 499


@pytest.mark.parametrize("path", VALID)
def test_valid(path):
    with open(os.path.join(TESTS, path), "rb") as f:
        data = f.read()
    with open(os.path.join(TESTS, path[:-len(".toml")] + ".json"),
              encoding="utf-8") as f:
        want = json.load(f)
    rc, out, err = run(data)
    assert rc == 0, "refused a valid document: %s" % err
    assert err == ""
    compare(json.loads(out), want)


@pytest.mark.parametrize("path", INVALID)
def test_invalid(path):
    with open(os.path.join(TESTS, path), "rb") as f:
        data = f.read()
    rc, out, err = run(data)
    assert rc == 1, "accepted an invalid document: %s" % out
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and ERR_RE.match(lines[0]), err
    assert "Sanitizer" not in err and "runtime error" not in err


@pytest.mark.parametrize("doc, line, col, words", [
    (b"a = 1\nb = \n", 2, 5, "expected a value"),
    (b"a = 1\na = 2\n", 2, 1, "duplicate"),
    (b"[t]\nx = 1\n\n[t]\n", 4, 2, "defined again"),
    (b"s = \"abc\\q\"\n", 1, 9, "escape"),
    (b"# \xc3\xa9\xc3\xa9\nk = \"\xc3\xa9\" x\n", 2, 9, "end of the line"),
    (b"n = 0123\n", 1, 5, "leading zero"),
    (b"big = 9223372036854775808\n", 1, 7, "64 bits"),
    (b"d = 2023-02-29\n", 1, 5, "does not exist"),
    (b"t = {a = 1,}\n", 1, 12, "trailing comma"),
    (b"ok = true\r\nbad = \x01\n", 2, 7, "control character"),
    (b"x = [1,\n  2\n  3]\n", 3, 3, "expected ','"),
])
def test_error_position(doc, line, col, words):
    rc, out, err = run(doc)
    assert rc == 1
    m = ERR_RE.match(err.strip())
    assert m is not None, err
    assert (int(m.group(1)), int(m.group(2))) == (line, col), err
    assert words in err, err
    assert err.startswith("<stdin>:")


def test_valid_output_shape():
    rc, out, err = run(b"a.b = [1, 2.5, 'x', true, 1979-05-27]\n")
    assert rc == 0, err
    assert json.loads(out) == {"a": {"b": [
        {"type": "integer", "value": "1"},
        {"type": "float", "value": "2.5"},
        {"type": "string", "value": "x"},
        {"type": "bool", "value": "true"},
        {"type": "date-local", "value": "1979-05-27"}]}}
