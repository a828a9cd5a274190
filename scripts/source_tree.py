"""What the tree checks share: which files are condenser's sources, and how a
check reports what it found."""
import os

# Folders of the root that hold no library sources.
NOT_SOURCES = {"tests", "cmake", "docs", "scripts", "configs", "runs"}


def source_files(root):
    """Paths (relative to root, sorted) of every .h and .cpp outside tests/ and build dirs."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if os.path.relpath(dirpath, root) == ".":
            dirnames[:] = [d for d in dirnames
                           if d not in NOT_SOURCES and not d.startswith(("build", "."))]
        found += [os.path.relpath(os.path.join(dirpath, n), root)
                  for n in filenames if n.endswith((".h", ".cpp"))]
    return sorted(found)


def report(tool, problems, summary=""):
    """Prints each problem and a closing line; returns the exit code (1 if any)."""
    for p in problems:
        print(p)
    print(f"{tool}: {len(problems)} problem(s){summary}")
    return 1 if problems else 0
