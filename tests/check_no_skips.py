"""Fail the run when CI=true and any test was skipped (a missing service is a failure there)."""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    tests = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    print(f"check_no_skips: {tests} tests, {skipped} skipped")
    if tests == 0:
        print("check_no_skips: no test ran")
        return 1
    if os.environ.get("CI") == "true" and skipped:
        print("check_no_skips: tests were skipped while CI=true; every service must be reachable")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
