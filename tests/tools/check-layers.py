#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checks the include rules of xenstub's layers (stub/README.md): each
layer includes only the layers below it, the GDB front end only base and
session.h, xensim only base. Fails naming the file, the include and the
rule; fails too on an include cycle between layers or between files.

  check-layers.py [--root DIR] [--graph] [--self-test]

--graph prints the include graph per layer (which layer includes which,
with the number of includes); --self-test checks the checker on small
trees made for it, then the tree.
"""

import argparse
import os
import re
import sys
import tempfile

# The layers, bottom up; a layer's folders (longest prefix wins).
LAYERS = [
    ("base", ["stub/base/"]),
    ("arch", ["arch/"]),
    ("guest", ["stub/guest/"]),
    ("os-awareness", ["os-awareness/"]),
    ("traps", ["stub/traps/"]),
    ("agent", ["stub/agent/"]),
    ("session", ["stub/session/"]),
    ("gdb", ["stub/gdb/"]),
    ("main", ["stub/main.c", "stub/cli.c", "stub/cli.h", "stub/listen.c", "stub/listen.h"]),
    ("xensim", ["tests/xensim/"]),
    ("tests", ["tests/"]),
]

# What each layer may include besides itself: whole layers, or single
# headers ("layer:path").
ALLOWED = {
    "base": [],
    "arch": ["base"],
    "guest": ["base", "arch"],
    "os-awareness": ["base", "arch", "guest:stub/guest/vmem.h"],
    "traps": ["base", "arch", "guest"],
    "agent": ["base", "arch"],
    "session": ["base", "arch", "guest", "os-awareness", "traps", "agent"],
    "gdb": ["base", "session:stub/session/session.h"],
    "main": ["base", "arch", "guest", "os-awareness", "traps", "agent",
             "session", "gdb"],
    # an independent peer of what it tests: it shares only base
    "xensim": ["base"],
    "tests": None,  # anything
}

RULES = {
    "base": "base includes nothing of the project",
    "arch": "arch includes only base",
    "guest": "guest includes only base and arch",
    "os-awareness": "os-awareness includes only base, arch and stub/guest/vmem.h",
    "traps": "traps includes only base, arch and guest",
    "agent": "agent includes only base and arch",
    "session": "session includes only the layers below it (not gdb or main)",
    "gdb": "gdb includes only base and stub/session/session.h",
    "main": "main includes every layer",
    "xensim": "xensim includes only stub/base (it shares no logic with xenstub)",
}

# Includes that break a rule on purpose: (file, include, why).
EXCEPTIONS = [
    ("tests/xensim/walkcheck.c", "arch/x86/paging.h",
     "the check that xensim's page walker and xenstub's agree: it runs "
     "both, and is no part of the simulator"),
]

# Headers of Xen's libraries: only the live Xen target (and tests) use them.
XEN_LIB_HEADERS = re.compile(
    r"^(xenctrl|xenevtchn|xenforeignmemory|xendevicemodel|xenstore|"
    r"xengnttab|xentoollog|xencall)\.h$")
XEN_LIB_USERS = ["stub/guest/xen/", "tests/"]

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SCANNED = ["stub", "arch", "os-awareness", "tests"]


def layer_of(path):
    best = None
    for name, prefixes in LAYERS:
        for p in prefixes:
            if path == p or (p.endswith("/") and path.startswith(p)):
                if best is None or len(p) > len(best[1]):
                    best = (name, p)
    return best[0] if best else None


def sources(root):
    out = []
    for top in SCANNED:
        for d, dirs, files in os.walk(os.path.join(root, top)):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), root))
    return out


def includes(root, path):
    """(line number, kind, resolved project path or None, text) per include."""
    out = []
    with open(os.path.join(root, path), encoding="utf-8",
              errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            target = None
            if kind == '"':
                for cand in (name, os.path.join(os.path.dirname(path), name)):
                    cand = os.path.normpath(cand)
                    if os.path.isfile(os.path.join(root, cand)):
                        target = cand
                        break
            out.append((n, kind, target, name))
    return out


def allowed(layer, inc_layer, inc):
    rule = ALLOWED.get(layer)
    if rule is None or inc_layer == layer:
        return True
    for a in rule:
        if a == inc_layer:
            return True
        if ":" in a and a.split(":", 1) == [inc_layer, inc]:
            return True
    return False


def find_cycle(graph):
    """A cycle of the directed graph {node: set(nodes)} as a list, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    stack = []

    def visit(n):
        color[n] = GREY
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if color.get(m, WHITE) == GREY:
                return stack[stack.index(m):] + [m]
            if color.get(m, WHITE) == WHITE:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        color[n] = BLACK
        return None

    for n in sorted(graph):
        if color[n] == WHITE:
            c = visit(n)
            if c:
                return c
    return None


def check(root, out=sys.stdout, graph_out=None):
    """Checks the tree at root; returns the number of errors."""
    errors = []
    layer_graph = {}
    file_graph = {}
    exceptions = {(f, i) for f, i, _ in EXCEPTIONS}
    for path in sources(root):
        layer = layer_of(path)
        if layer is None:
            errors.append("%s: in no layer (stub/README.md lists the "
                          "folders)" % path)
            continue
        file_graph.setdefault(path, set())
        for n, kind, target, name in includes(root, path):
            where = "%s:%d: #include %s%s%s" % (
                path, n, kind, name, '"' if kind == '"' else ">")
            if kind == "<" and XEN_LIB_HEADERS.match(name) and \
                    not any(path.startswith(p) for p in XEN_LIB_USERS):
                errors.append("%s: only the Xen target (stub/guest/xen/) "
                              "uses Xen's libraries" % where)
                continue
            if target is None:
                continue
            file_graph[path].add(target)
            inc_layer = layer_of(target)
            if inc_layer is None:
                continue
            if inc_layer != layer:
                edges = layer_graph.setdefault(layer, {})
                edges[inc_layer] = edges.get(inc_layer, 0) + 1
            if (path, target) in exceptions:
                continue
            if not allowed(layer, inc_layer, target):
                errors.append("%s: %s is in layer %s; rule: %s" % (
                    where, target, inc_layer, RULES[layer]))
    cycle = find_cycle({k: set(v) for k, v in layer_graph.items()})
    if cycle:
        errors.append("include cycle between layers: %s" % " -> ".join(cycle))
    cycle = find_cycle(file_graph)
    if cycle:
        errors.append("include cycle between files: %s" % " -> ".join(cycle))
    for e in errors:
        print(e, file=out)
    if graph_out is not None:
        order = [n for n, _ in LAYERS]
        for layer in order:
            edges = layer_graph.get(layer, {})
            print("%-13s -> %s" % (layer, ", ".join(
                "%s (%d)" % (m, edges[m]) for m in order if m in edges)
                or "(nothing)"), file=graph_out)
    return len(errors)


def self_test():
    """The checker on small trees: each must give the error expected."""
    cases = [
        ({"stub/base/a.c": '#include "stub/base/a.h"\n',
          "stub/base/a.h": "", "arch/x86/r.c": '#include "stub/base/a.h"\n',
          "stub/gdb/g.c": '#include "stub/session/session.h"\n',
          "stub/session/session.h": '#include "arch/x86/r.h"\n',
          "arch/x86/r.h": ""}, None),
        ({"stub/base/a.c": '#include "stub/guest/t.h"\n',
          "stub/guest/t.h": ""},
         'stub/base/a.c:1: #include "stub/guest/t.h": stub/guest/t.h is in '
         'layer guest; rule: base includes nothing of the project'),
        ({"stub/gdb/g.c": '#include "stub/session/session-internal.h"\n',
          "stub/session/session-internal.h": ""},
         "rule: gdb includes only base and stub/session/session.h"),
        ({"os-awareness/o.c": '#include "stub/guest/target.h"\n',
          "stub/guest/target.h": ""},
         "rule: os-awareness includes only base, arch and "
         "stub/guest/vmem.h"),
        ({"tests/xensim/s.c": '#include "arch/x86/paging.h"\n',
          "arch/x86/paging.h": ""}, "rule: xensim includes only stub/base"),
        ({"stub/traps/t.c": "#include <xenctrl.h>\n"},
         "only the Xen target"),
        ({"stub/frob.c": ""}, "stub/frob.c: in no layer"),
        ({"stub/guest/a.h": '#include "stub/guest/b.h"\n',
          "stub/guest/b.h": '#include "a.h"\n'},
         "include cycle between files: stub/guest/a.h -> stub/guest/b.h "
         "-> stub/guest/a.h"),
    ]
    # a layer cycle needs a rule broken on the way: make base see guest
    saved = ALLOWED["base"]
    ALLOWED["base"] = ["guest"]
    try:
        cycle = run_case({"stub/base/a.c": '#include "stub/guest/t.h"\n',
                          "stub/guest/t.h": '#include "stub/base/a.h"\n',
                          "stub/base/a.h": ""})
    finally:
        ALLOWED["base"] = saved
    failed = 0
    if "include cycle between layers: base -> guest -> base" not in cycle:
        print("self-test: a cycle between layers gave %r" % cycle)
        failed += 1
    for files, want in cases:
        got = run_case(files)
        if (want is None and got) or (want is not None and want not in got):
            print("self-test: %s gave %r, expected %r" %
                  (sorted(files), got, want or "no error"))
            failed += 1
    return failed


def run_case(files):
    import io
    with tempfile.TemporaryDirectory() as d:
        for name, text in files.items():
            os.makedirs(os.path.join(d, os.path.dirname(name)), exist_ok=True)
            with open(os.path.join(d, name), "w") as f:
                f.write(text)
        buf = io.StringIO()
        check(d, out=buf)
        return buf.getvalue()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))))
    ap.add_argument("--graph", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test and self_test():
        print("check-layers: the self-test failed")
        return 1
    n = check(a.root, graph_out=sys.stdout if a.graph else None)
    if n:
        print("check-layers: %d error(s); the rules are in stub/README.md" % n)
        return 1
    print("check-layers: the includes follow the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
