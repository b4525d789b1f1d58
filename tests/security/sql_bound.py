#!/usr/bin/env python3
"""Only bound SQL parameters: every SQL text the app prepares or executes is built from string
literals alone (optionally chosen by a boolean, `flag ? "A" : "B"`, or a kConstant). Values go
through Statement::Bind. Exit 1, naming the call, when an SQL text is built from anything else.

  tests/security/sql_bound.py [ROOT]
"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
CALL = re.compile(r"(?<![A-Za-z0-9_])(Prepare|Exec|ExecScript|sqlite3_exec|sqlite3_prepare_v2|PQexec|PQexecParams)\s*\(")
RAW = {"sqlite3_exec": os.path.join("persist", "database.cpp"), "sqlite3_prepare_v2": os.path.join("persist", "database.cpp"),
       "PQexec": os.path.join("pg", "pg_conn.cpp"), "PQexecParams": os.path.join("pg", "pg_conn.cpp")}
LITERAL = re.compile(r'R"([^(]*)\((?:.|\n)*?\)\1"|"(?:\\.|[^"\\])*"')


def blank_literals(text):
    """Literals become quotes around spaces, so positions hold and their parentheses vanish."""
    return LITERAL.sub(lambda m: '"' + re.sub(r"[^\n]", " ", m.group(0)[2:]) + '"', text)


def argument(text, start):
    depth, i = 1, start
    while i < len(text) and depth:
        depth += text[i] == "("
        depth -= text[i] == ")"
        i += 1
    return text[start:i - 1]


def first_argument(arg):
    """The SQL text: up to the first comma outside brackets (values follow it, bound)."""
    depth = 0
    for i, c in enumerate(arg):
        depth += c in "([{"
        depth -= c in ")]}"
        if c == "," and depth == 0:
            return arg[:i]
    return arg


bad, checked = [], 0
for base in ("core", "app"):
    for dirpath, _, files in os.walk(os.path.join(root, base)):
        if os.sep + "sim" in dirpath:
            continue  # graphsim has no database
        for f in files:
            if not f.endswith(".cpp"):
                continue
            path = os.path.join(dirpath, f)
            text = open(path, encoding="utf-8").read()
            if ("persist" not in path and '"persist/database.hpp"' not in text
                    and os.sep + "pg" + os.sep not in path and '"pg/pg_conn.hpp"' not in text):
                continue  # no database here
            text = blank_literals(text)
            for m in CALL.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                before = text[max(0, m.start() - 40):m.start()]
                if re.search(r"(Status|Result<Statement>|Statement|Result<PgResult>)\s+[A-Za-z_:]*$", before):
                    continue  # a definition, not a call
                arg = first_argument(argument(text, m.end()))
                if m.group(1) in RAW:
                    # Only inside the wrappers (Database, PgConn), on the text they were given.
                    if not path.endswith(RAW[m.group(1)]):
                        bad.append(f"{path}:{line}: raw {m.group(1)} outside its wrapper")
                    continue
                checked += 1
                rest = re.sub(r'"[^"]*"', "", arg)
                rest = re.sub(r"std::string\s*\(", "(", rest)
                # a flag (or a comparison with a number) choosing between literals
                rest = re.sub(r"\b[A-Za-z_]\w*(\s*[=!<>]=?\s*\d+)?\s*\?", "?", rest)
                rest = re.sub(r"\bk[A-Z]\w*(\[[\w\s+-]+\])?", "", rest)  # a named constant (table entry)
                if re.search(r"[A-Za-z_]", rest):
                    bad.append(f"{path}:{line}: SQL built from more than literals: {' '.join(arg.split())[:100]}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
if checked < 10:
    print(f"only {checked} SQL call sites found: the check is not looking in the right place")
    sys.exit(1)
print(f"{checked} SQL call sites: every SQL text is literal; values are bound")
