#!/usr/bin/env python3
"""Every doctest case must reach CTest whole. doctest_discover_tests splits a name at ';'
(a CMake list separator), so a case named "a; b" became two tests that match nothing and
pass without running. Exit 1, naming the case, when a TEST_CASE name holds a ';'.

  tests/security/test_names.py [ROOT]
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
# The name may be several adjacent string literals, across lines (clang-format splits long
# names): all of them make the name.
CASE = re.compile(r'TEST_CASE\s*\(\s*((?:"(?:\\.|[^"\\])*"\s*)+)')
PART = re.compile(r'"((?:\\.|[^"\\])*)"')
bad, seen = [], 0
for dirpath, _, files in os.walk(os.path.join(root, "tests")):
    for f in files:
        if f.endswith(".cpp"):
            path = os.path.join(dirpath, f)
            text = open(path, encoding="utf-8").read()
            for m in CASE.finditer(text):
                seen += 1
                name = "".join(PART.findall(m.group(1)))
                if ";" in name:
                    n = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{path}:{n}: test name holds ';' (CTest would not run it): {name}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
if seen < 50:
    print(f"only {seen} test cases found: the check is not looking in the right place")
    sys.exit(1)
print(f"{seen} test case names reach CTest whole")
