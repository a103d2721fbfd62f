"""Shared fixtures for the end-to-end tests: where the binaries are, and a
check that a run left no sanitizer report behind."""
import os
import re

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, os.environ.get("SKS5_BUILD", "build"))

SANITIZER_RE = re.compile(
    r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|"
    r"SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)")


def binary(name="sks5"):
    """Absolute path of a built program (sks5, toml2json)."""
    return os.path.join(BUILD, name)


def assert_no_sanitizer_report(text):
    """Fails when stderr of a run holds an ASan/UBSan/LSan report."""
    m = SANITIZER_RE.search(text or "")
    assert m is None, "sanitizer report:\n" + text[max(0, m.start() - 200):][:4000]


@pytest.fixture
def sks5_bin():
    path = binary("sks5")
    if not os.path.exists(path):
        pytest.fail("missing %s: run make first" % path)
    return path


@pytest.fixture
def repo_root():
    return REPO
