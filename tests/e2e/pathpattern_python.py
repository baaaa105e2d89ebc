#!/usr/bin/python3
"""Cross-check Ferry's delegation path patterns against python-tuf's rule.

python-tuf (tuf/api/metadata.py, DelegatedRole._is_target_in_pathpattern)
splits target path and pattern at "/", requires as many parts, and matches
each part with fnmatch.fnmatch.  This reimplements that rule with Debian's
Python and compares it with `ferry-tuftool pathmatch` on hand-picked and
generated cases.  usage: pathpattern_python.py TUFTOOL
"""
import fnmatch
import random
import subprocess
import sys


def reference(pattern, path):
    parts, pparts = path.split("/"), pattern.split("/")
    if len(parts) != len(pparts):
        return False
    return all(fnmatch.fnmatch(t, p) for t, p in zip(parts, pparts))


HAND = [
    ("apps/*", "apps/demo.img"), ("apps/*", "apps/a/b"), ("apps/*", "apps/"),
    ("*", ""), ("", ""), ("*.txt", "a.txt"), ("a/?/c", "a/é/c"),
    ("a?b", "aéb"), ("a?b", "a😀b"), ("[^a]*", "b.txt"), ("[^a]*", "^x"),
    ("[[:digit:]]*", "7.txt"), ("[[:digit:]]*", ":]x"), ("[!a]*", "b"),
    ("[!a]*", "a"), ("[]a]", "]"), ("[!]a]", "]"), ("[!]a]", "b"),
    ("[a-c]", "b"), ("[c-a]", "b"), ("[!c-a]", "b"), ("[a-]", "-"),
    ("[-a]", "-"), ("[a-c-e]", "-"), ("[a-c-e]", "d"), ("[", "["),
    ("[a", "[a"), ("a[", "a["), ("\\*", "\\x"), ("\\*", "*"),
    ("[\\]", "\\"), ("*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaac"),
    ("[é-ü]", "ö"), ("[é-ü]", "a"), ("**", "x"), ("*?", ""), ("?*", "x"),
    ("a/*/c", "a//c"),
]

ALPHABET = ["a", "b", "é", "😀", "-", "!", "^", "]", "[", "*", "?", "\\", "/", ".", "z"]


def generated(rng, n):
    for _ in range(n):
        pat = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))
        if rng.random() < 0.5:
            path = "".join(rng.choice(["a", "b", "é", "😀", "-", "]", "/", ".", "z", "^", "!"])
                           for _ in range(rng.randint(0, 8)))
        else:
            # Derive a path from the pattern so that matches are common.
            path = "".join(rng.choice("abz") if c in "*?[]!^" else c for c in pat)
        yield pat, path


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    cases = HAND + list(generated(random.Random(20261123), 20000))
    # The tool reads one case a line: tabs and newlines cannot be carried.
    cases = [(p, t) for p, t in cases if "\t" not in p + t and "\n" not in p + t]
    text = "".join(f"{p}\t{t}\n" for p, t in cases)
    out = subprocess.run([sys.argv[1], "pathmatch"], input=text.encode(),
                         capture_output=True, check=True).stdout.decode().split("\n")
    bad = 0
    for (p, t), got in zip(cases, out):
        want = "1" if reference(p, t) else "0"
        if got != want:
            bad += 1
            if bad <= 20:
                print(f"MISMATCH pattern {p!r} path {t!r}: ferry {got}, python-tuf {want}")
    matches = sum(1 for p, t in cases if reference(p, t))
    print(f"{len(cases)} cases ({matches} matching), {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
