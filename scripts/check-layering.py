#!/usr/bin/env python3
"""Fails when a source file includes a folder its row of the layering table
in docs/architecture.md does not allow.

The table has the columns `folder` and `may include`; a file belongs to the
row of the longest folder that contains it, and so does an included path.
A folder may always include itself. tests/ are not checked.
Usage: check-layering.py [ROOT]   (exit 0: clean, 1: violations, 2: bad table)
"""
import os
import re
import sys

from source_tree import report, source_files

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def read_table(doc_path):
    """{folder: set(allowed folders)} from the table whose header names 'may include'."""
    rows, columns = {}, None
    for line in open(doc_path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else None
        if cells is None:
            columns = None if rows else columns
            continue
        if "may include" in cells:
            columns = (cells.index("folder"), cells.index("may include"))
            continue
        if columns is None or set(line.strip()) <= set("|-: "):
            continue
        folder = cells[columns[0]].strip("`/ ")
        allowed = set(re.findall(r"`([^`]+?)/?`", cells[columns[1]]))
        rows[folder] = {a.strip("/") for a in allowed}
    return rows


def row_of(path, rows):
    """The longest table folder containing `path` (a file path), or None."""
    best = None
    for folder in rows:
        if path.startswith(folder + "/") and (best is None or len(folder) > len(best)):
            best = folder
    return best


def check(root):
    doc = os.path.join(root, "docs", "architecture.md")
    rows = read_table(doc)
    if not rows:
        print(f"check-layering: no table with a 'may include' column in {doc}")
        return 2
    problems = []
    for path in source_files(root):
        own = row_of(path, rows)
        if own is None:
            problems.append(f"{path}: its folder has no row in docs/architecture.md's layering table")
            continue
        for number, line in enumerate(open(os.path.join(root, path), encoding="utf-8"), 1):
            m = INCLUDE.match(line)
            if not m or "/" not in m.group(1):
                continue
            target = row_of(m.group(1), rows)
            if target == own or target in rows[own]:
                continue
            allowed = ", ".join(sorted(rows[own])) or "nothing else"
            problems.append(f'{path}:{number}: includes "{m.group(1)}" ({target or "no row"}), '
                            f"but {own}/ may include only {allowed} (docs/architecture.md)")
    return report("check-layering", problems, f" in {len(rows)} folders")


if __name__ == "__main__":
    sys.exit(check(sys.argv[1] if len(sys.argv) > 1 else "."))
