#!/usr/bin/env python3
"""bench/MUTANTS.md from a cargo-mutants output directory: the counts, and every missed or
timed-out mutant with the reason bench/mutants-explained.md gives for it (matched by file and
description, line numbers aside, since they move), or UNEXPLAINED.

Usage: mutants-summary.py MUTANTS_OUT EXPLAINED_MD > bench/MUTANTS.md
"""

from __future__ import annotations

import pathlib
import re
import sys


def entries(path: pathlib.Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def key(entry: str) -> str:
    """`file:line:col: description` without the line and column."""
    found = re.match(r"([^:]+):\d+:\d+: (.*)", entry)
    return f"{found.group(1)}: {found.group(2)}" if found else entry


def explanations(path: pathlib.Path) -> dict[str, str]:
    """`- `file: description`: why` lines."""
    found = {}
    for line in path.read_text().splitlines():
        match = re.match(r"- `([^`]+)`: (.+)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def main() -> None:
    out, explained_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    caught, missed = entries(out / "caught.txt"), entries(out / "missed.txt")
    timeout, unviable = entries(out / "timeout.txt"), entries(out / "unviable.txt")
    # With --iterate, what earlier runs caught (or found unviable) is not tried again.
    earlier = entries(out / "previously_caught.txt")
    explained = explanations(explained_path)
    tested = len(caught) + len(missed) + len(timeout)
    print("# Mutation testing: the core's rules\n")
    print("Written by `scripts/mutants` (cargo-mutants over `functions/core`'s decide, resolve, approval,")
    print("principal and policy, with the core's own tests); not in CI. Reasons for the mutants the tests")
    print("cannot catch are kept in `bench/mutants-explained.md`.\n")
    print("| mutants | caught or unviable in earlier runs | caught | missed | timed out | unviable |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {len(earlier) + tested + len(unviable)} | {len(earlier)} | {len(caught)} | {len(missed)} "
          f"| {len(timeout)} | {len(unviable)} |\n")
    unexplained = 0
    if missed or timeout:
        print("## Missed and timed-out mutants\n")
        for entry in missed + timeout:
            reason = explained.get(key(entry))
            unexplained += reason is None
            print(f"- `{entry}`: {reason or 'UNEXPLAINED'}")
        print()
    print(f"Unexplained: {unexplained}.")


if __name__ == "__main__":
    main()
