#!/usr/bin/env python3
"""Fails when a source file outside tests/ is over 400 lines or one of its
functions is over 80 lines (signature to closing brace; lambdas count as
part of the function that holds them).

Functions are found by brace matching on the text with comments, strings
and character literals blanked: a `{` at namespace or class scope whose
head has a `)` and is not a struct, class, enum or initialiser opens a
function. Usage: check-sizes.py [ROOT]   (exit 0: within limits, 1: not)
"""
import os
import re
import sys

from source_tree import report, source_files

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def blank_literals(src):
    """`src` with comments, strings and char literals replaced by spaces (newlines kept)."""
    out, i, n = [], 0, len(src)
    while i < n:
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i) + 2
        elif src.startswith('R"(', i):
            j = src.find(')"', i) + 2
        elif src[i] == '"' or (src[i] == "'" and not (i > 0 and src[i - 1].isalnum())):
            j = i + 1
            while j < n and src[j] != src[i]:
                j += 2 if src[j] == "\\" else 1
            j += 1
        else:
            out.append(src[i])
            i += 1
            continue
        out.append(re.sub(r"[^\n]", " ", src[i:j]))
        i = j
    return "".join(out)


def long_functions(text):
    """(lines, first line, signature) of each function longer than the limit."""
    s = blank_literals(text)
    stack, found = [], []
    for m in re.finditer(r"[{}]", s):
        if m.group() == "}":
            top = stack.pop() if stack else None
            if isinstance(top, tuple):
                lines = s.count("\n", 0, m.start()) + 1 - top[0] + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append((lines, top[0], top[1]))
            continue
        head = s[max(0, m.start() - 400):m.start()]
        head = head[max(head.rfind(";"), head.rfind("}"), head.rfind("{")) + 1:]
        at_scope = all(k in ("namespace", "class") for k in stack)
        if not at_scope:
            stack.append("block")
        elif re.search(r"\bnamespace\b[^()]*$", head):
            stack.append("namespace")
        elif re.search(r"\b(struct|class|enum|union)\b[^()]*$", head):
            stack.append("class")
        elif ")" in head and not re.search(r"=\s*$", head):
            start = m.start() - len(head) + (len(head) - len(head.lstrip()))
            signature = " ".join(head.split())[:80]
            stack.append((s.count("\n", 0, start) + 1, signature))
        else:
            stack.append("block")
    return found


def main(root):
    problems = []
    for rel in source_files(root):
        text = open(os.path.join(root, rel), encoding="utf-8").read()
        lines = text.count("\n")
        if lines > MAX_FILE_LINES:
            problems.append(f"{rel}: {lines} lines (at most {MAX_FILE_LINES}): split it along a seam")
        for count, line, signature in long_functions(text):
            problems.append(f"{rel}:{line}: {signature} is {count} lines (at most {MAX_FUNCTION_LINES})")
    return report("check-sizes", problems)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
