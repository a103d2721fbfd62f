#!/usr/bin/env python3
"""Sums the unit (cmocka under ctest) and end-to-end (pytest junit) results
in a results directory and prints one closing line "N passed, N failed".
Exit status 1 when anything failed, errored, or did not run."""
import glob
import os
import re
import sys
import xml.etree.ElementTree as ET


def ctest_counts(path):
    """Counts cmocka cases from a `ctest -V` log. A test binary that failed
    without a cmocka FAILED line (a crash, a sanitizer abort) counts as one
    failure."""
    passed = failed = 0
    failed_ids = set()
    reported = set()
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"^(\d+): \[  PASSED  \] (\d+) test", line)
            if m:
                passed += int(m.group(2))
                continue
            m = re.match(r"^(\d+): \[  FAILED  \] (\d+) test", line)
            if m:
                failed += int(m.group(2))
                reported.add(m.group(1))
                continue
            m = re.match(r"^\s*(\d+) - (\S+) \((Failed|SEGFAULT|Subprocess aborted|Timeout|Child aborted|Exception|Not Run)", line)
            if m:
                failed_ids.add(m.group(1))
    failed += len(failed_ids - reported)
    return passed, failed


def junit_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = skipped = 0
    for s in suites:
        tests = int(s.get("tests", 0))
        fail = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skip = int(s.get("skipped", 0))
        passed += tests - fail - skip
        failed += fail
        skipped += skip
    return passed, failed, skipped


def main():
    out = sys.argv[1]
    passed = failed = skipped = 0
    problems = []
    if os.path.exists(os.path.join(out, "broken")):
        with open(os.path.join(out, "broken")) as f:
            for line in f:
                problems.append(line.strip())
                failed += 1
    for tag in ("plain", "asan"):
        log = os.path.join(out, "ctest-%s.log" % tag)
        xml = os.path.join(out, "pytest-%s.xml" % tag)
        if os.path.exists(log):
            p, f = ctest_counts(log)
            print("unit (%s): %d passed, %d failed" % (tag, p, f))
            passed += p
            failed += f
        else:
            problems.append("no unit results for %s" % tag)
        if os.path.exists(xml):
            p, f, s = junit_counts(xml)
            print("e2e  (%s): %d passed, %d failed, %d skipped" % (tag, p, f, s))
            passed += p
            failed += f
            skipped += s
        else:
            problems.append("no end-to-end results for %s" % tag)
    for p in problems:
        print("problem: " + p)
    if problems and failed == 0:
        failed = len(problems)
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
