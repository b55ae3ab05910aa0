#!/usr/bin/env python3
"""The import rules of docs/design.md ("Layers"), checked on the source.

    python3 scripts/check-layers.py

Prints one line per rule and exits 1 naming the offending lines when a module uses what its layer
must not. A module path counts wherever it is written (`use crate::x`, `crate::x::f()` in code,
`crate::{x, ..}` groups); comments and test code (`#[cfg(test)] mod ... { }` bodies, `tests.rs`,
`*_tests.rs`, files under a `tests/` directory) are not checked. Run by `.ci/run`.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "src"


def files(*tops):
    for top in tops:
        p = SRC / top
        if p.is_file():
            yield p
        elif p.is_dir():
            yield from sorted(p.rglob("*.rs"))


def is_test_file(p):
    return p.name == "tests.rs" or p.name.endswith("_tests.rs") or "tests" in p.relative_to(SRC).parts[:-1]


def code_lines(p):
    """(number, line) of non-comment lines outside `#[cfg(test)] mod x { ... }` bodies."""
    lines = p.read_text().splitlines()
    skip_depth = None
    pending_test = False
    for i, line in enumerate(lines, 1):
        stripped = line.strip()
        if skip_depth is not None:
            skip_depth += line.count("{") - line.count("}")
            if skip_depth <= 0:
                skip_depth = None
            continue
        if stripped.startswith("#[cfg(test)]"):
            pending_test = True
            continue
        if pending_test and re.match(r"(pub(\(crate\))?\s+)?mod\s+\w+\s*\{", stripped):
            skip_depth = line.count("{") - line.count("}")
            pending_test = False
            if skip_depth <= 0:
                skip_depth = None
            continue
        pending_test = False
        if stripped.startswith("//"):
            continue
        yield i, line.split("//")[0]


def mods(names):
    alt = "|".join(names)
    return re.compile(rf"crate::({alt})\b|crate::\{{[^}}]*\b({alt})\b")


RULES = [
    ("only lib.rs, main.rs and app.rs use the assembly (app)",
     [p for p in files("") if p.relative_to(SRC).as_posix() not in ("lib.rs", "main.rs", "app.rs")],
     mods(["app"])),
    ("provision uses no HTTP edge, router, server, proxy, admin, guard, gate or assembly",
     list(files("provision", "provision.rs")),
     mods(["scim_api", "router", "server", "proxy", "admin", "app", "edge", "guard", "login_gate"])),
    ("policy uses no guard", list(files("policy", "policy.rs")), mods(["guard"])),
    ("scim is pure: no I/O, Grafana, store or HTTP edge",
     list(files("scim", "scim.rs")),
     re.compile(r"\b(tokio|hyper|rusqlite|tokio_postgres|deadpool_postgres)::|"
                + mods(["grafana", "store", "provision", "scim_api", "router", "server", "proxy", "app",
                        "guard", "policy", "login_gate"]).pattern)),
    ("guard uses no assembly, router, SCIM edge or provisioning",
     list(files("guard", "guard.rs")), mods(["app", "router", "scim_api", "provision"])),
    ("store uses no Grafana, HTTP edge, provisioning, guard or policy",
     list(files("store", "store.rs")), mods(["grafana", "scim_api", "router", "provision", "guard", "policy", "app"])),
]


def main():
    broken = False
    for name, paths, pattern in RULES:
        hits = [
            f"  {p.relative_to(ROOT)}:{n}: {line.strip()}"
            for p in paths if not is_test_file(p)
            for n, line in code_lines(p) if pattern.search(line)
        ]
        if hits:
            broken = True
            print(f"BROKEN: {name}")
            print("\n".join(hits))
        else:
            print(f"ok: {name}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
