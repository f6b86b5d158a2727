#!/usr/bin/env python3
"""Checks that the files of src/ import each other along the layers of docs/architecture.md.

Usage: check_layers.py [--src DIR] [--doc FILE] [--self-test]

An import is any `crate::x` or `$crate::x` path in code: `use` lines, grouped `use crate::{a, b::c}`,
inline paths (`crate::ve::is_ve(p)`) and paths inside macros. Comments, doc comments and string
literals are not code, so a doc link to an upper layer is no import. `super::`/`self::` paths stay
inside one module and are not looked at.

The graph has one node per file: `crate::msg::pt2pt::x` is src/msg/pt2pt.rs, `crate::msg::Seg` is
src/msg/mod.rs (no src/msg/Seg.rs), and `crate::m!` for a `#[macro_export]` macro is the file that
defines `m`. The check fails, listing the offending edges, on
  (a) any cycle among the files (every edge inside a strongly connected component), and
  (b) any import of a file whose layer is above the importer's (the layer table of the doc:
      a file may import files of its own row or below).
A file whose module is not in the table fails too. Exit status: 0 clean, 1 violations, 2 usage error.

The layer table is read from docs/architecture.md, between the lines `<!-- layers:begin -->` and
`<!-- layers:end -->`: each line of the box that starts with `|` is one row, top row first; the
module names of a row are the words between its first two `|` (the rest of the line is commentary).
"""

import argparse
import os
import re
import sys
import tempfile

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def strip(src):
    """The text with comments and string/char literals blanked out (newlines kept)."""
    out = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    if src[i] == "\n":
                        out.append("\n")
                    i += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 66]) and not (i and (src[i - 1].isalnum() or src[i - 1] == "_")):
            m = re.match(r'r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""' + "\n" * src.count("\n", i, end))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""' + "\n" * src.count("\n", i, j))
            i = j + 1
        elif c == "'":
            # a char literal ('a', '\n', '\u{1F600}', '"') or a lifetime ('a)
            if i + 1 < n and src[i + 1] == "\\":
                j = src.find("'", i + 2)
                i = n if j < 0 else j + 1
                out.append("' '")
            elif i + 2 < n and src[i + 2] == "'":
                out.append("' '")
                i += 3
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def skip_ws(s, i):
    while i < len(s) and s[i].isspace():
        i += 1
    return i


def parse_tree(s, i):
    """Paths (lists of segments) of the use tree at s[i:] (after `crate::`), and the end position."""
    i = skip_ws(s, i)
    if i < len(s) and s[i] == "{":
        paths, i = [], i + 1
        while True:
            i = skip_ws(s, i)
            if i >= len(s):
                return paths, i
            if s[i] == "}":
                return paths, i + 1
            if s[i] == ",":
                i += 1
                continue
            sub, j = parse_tree(s, i)
            paths += sub
            # skip `as alias` and anything else up to the next item
            depth = 0
            while j < len(s) and not (depth == 0 and s[j] in ",}"):
                depth += {"{": 1, "}": -1}.get(s[j], 0)
                j += 1
            i = j if j > i else i + 1
    m = IDENT.match(s, i)
    if not m:
        return [[]], i
    seg, i = m.group(0), m.end()
    j = skip_ws(s, i)
    if s.startswith("::", j):
        k = skip_ws(s, j + 2)
        if k < len(s) and s[k] != "<":  # not a turbofish (`Foo::<T>`)
            sub, i = parse_tree(s, k)
            return [([] if seg == "self" else [seg]) + p for p in sub], i
    if s.startswith("!", j):
        return [[seg + "!"]], j + 1
    return [([] if seg == "self" else [seg])], i


CRATE = re.compile(r"(?<![A-Za-z0-9_])\$?crate\s*::")


def imports(code):
    """Every path (list of segments) that follows `crate::` or `$crate::` in stripped code."""
    paths = []
    for m in CRATE.finditer(code):
        sub, _ = parse_tree(code, m.end())
        paths += [p for p in sub if p]
    return paths


MACRO = re.compile(r"#\[macro_export\]\s*(?:#\[[^\]]*\]\s*)*macro_rules!\s*([A-Za-z_][A-Za-z0-9_]*)")


class Tree:
    def __init__(self, src):
        self.src = os.path.abspath(src)
        self.files = sorted(
            os.path.relpath(os.path.join(d, f), self.src)
            for d, _, fs in os.walk(self.src) for f in fs if f.endswith(".rs"))
        self.code = {}
        for f in self.files:
            with open(os.path.join(self.src, f), encoding="utf-8") as fh:
                self.code[f] = strip(fh.read())
        self.macros = {}
        for f in self.files:
            for m in MACRO.finditer(self.code[f]):
                self.macros[m.group(1) + "!"] = f

    def resolve(self, path):
        """The file a `crate::` path names: the deepest module file along it, or None."""
        if path[0] in self.macros:
            return self.macros[path[0]]
        node, cur = None, ""
        for seg in path:
            if seg.endswith("!"):
                break
            base = os.path.join(cur, seg)
            if base + ".rs" in self.code:
                node = base + ".rs"
            elif os.path.join(base, "mod.rs") in self.code:
                node = os.path.join(base, "mod.rs")
            else:
                break
            cur = base
        return node

    def edges(self):
        """{(from, to): [example path, ...]} over the files of src/ but the crate root."""
        out = {}
        for f in self.files:
            if f in ("lib.rs", "main.rs"):
                continue
            for p in imports(self.code[f]):
                g = self.resolve(p)
                if g and g != f and g not in ("lib.rs", "main.rs"):
                    out.setdefault((f, g), set()).add("crate::" + "::".join(p))
        return out


def module(f):
    """The top-level module of a file of src/: msg/pt2pt.rs -> msg, ve.rs -> ve."""
    return f.split(os.sep)[0].removesuffix(".rs")


def read_layers(doc):
    """The rows of the layer table, bottom row first, each a list of module names."""
    with open(doc, encoding="utf-8") as fh:
        text = fh.read()
    m = re.search(r"<!-- layers:begin -->(.*?)<!-- layers:end -->", text, re.S)
    if not m:
        raise SystemExit(f"{doc}: no layer table (<!-- layers:begin --> ... <!-- layers:end -->)")
    rows = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if line.startswith("|"):
            cell = line[1:].split("|", 1)[0]
            names = IDENT.findall(cell)
            if names:
                rows.append(names)
    if not rows:
        raise SystemExit(f"{doc}: the layer table has no rows")
    return rows[::-1]


def cycles(nodes, edges):
    """Strongly connected components of more than one file (Tarjan), each sorted."""
    succ = {n: [] for n in nodes}
    for a, b in edges:
        succ.setdefault(a, []).append(b)
        succ.setdefault(b, [])
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        # iterative, so that deep graphs do not hit the recursion limit
        work = [(v, iter(sorted(succ[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        while work:
            u, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(succ[w]))))
                    break
                if w in on:
                    low[u] = min(low[u], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[u])
                if low[u] == index[u]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == u:
                            break
                    if len(comp) > 1:
                        comps.append(sorted(comp))

    for v in sorted(succ):
        if v not in index:
            visit(v)
    return sorted(comps)


def check(src, doc, out=sys.stdout):
    """Prints the violations; returns their number."""
    rows = read_layers(doc)
    level = {name: k for k, row in enumerate(rows) for name in row}
    tree = Tree(src)
    edges = tree.edges()
    bad = 0

    def show(a, b):
        return f"  {a} -> {b}   ({', '.join(sorted(edges[(a, b)])[:3])})"

    for f in tree.files:
        if f not in ("lib.rs", "main.rs") and module(f) not in level:
            print(f"src/{f}: module `{module(f)}` is in no row of the layer table of {doc}", file=out)
            bad += 1
    up = sorted(e for e in edges if module(e[0]) in level and module(e[1]) in level
                and level[module(e[1])] > level[module(e[0])])
    if up:
        print(f"{len(up)} import(s) up the layers (a file may import its own row or below):", file=out)
        for a, b in up:
            print(show(a, b), file=out)
        bad += len(up)
    comps = cycles(tree.files, edges)
    for comp in comps:
        inner = sorted(e for e in edges if e[0] in comp and e[1] in comp)
        print(f"cycle among {len(comp)} files ({', '.join(comp)}); its {len(inner)} edges:", file=out)
        for a, b in inner:
            print(show(a, b), file=out)
        bad += 1
    if not bad:
        print(f"layers: {len(tree.files)} files of {src}, {len(edges)} imports, no cycle, none upward", file=out)
    return bad


def self_test():
    """Fixtures: a clean tree passes; a cycle, an upward import and an unknown module each fail."""
    doc = ("# layers\n<!-- layers:begin -->\n```\n+------+\n| top  | commentary: crate::low\n+------+\n"
           "| mid  |\n| low, side |\n+------+\n```\n<!-- layers:end -->\n")
    files = {
        "lib.rs": "pub mod low; pub mod side; pub mod mid; pub mod top;\n",
        "low.rs": "//! Serves [`crate::top`] (a doc link is no import).\npub fn f() {}\n"
                  "#[macro_export]\nmacro_rules! lowmac { () => { $crate::low::f() } }\n"
                  "const S: &str = \"crate::top::x\"; /* crate::mid::y */\n",
        "side.rs": "use crate::low::f;\n",
        "mid/mod.rs": "use crate::{low::{self, f}, side as s};\npub mod inner;\n",
        "mid/inner.rs": "pub fn g<'a>(c: char) -> bool { c == '\"' && crate::mid::h() }\n",
        "top.rs": "pub fn t() { crate::mid::inner::g('x'); crate::lowmac!(); }\n",
    }
    cases = {
        "clean": ({}, 0, ["no cycle"]),
        "cycle": ({"side.rs": "use crate::low::f;\n", "low.rs": "use crate::side;\n"}, 1,
                  ["cycle among 2 files", "low.rs -> side.rs", "side.rs -> low.rs"]),
        "cycle in a directory module": ({"mid/mod.rs": "use crate::mid::inner::g;\n",
                                         "mid/inner.rs": "fn x() { crate::mid::h() }\n"}, 1,
                                        ["mid/inner.rs -> mid/mod.rs", "mid/mod.rs -> mid/inner.rs"]),
        "upward": ({"side.rs": "fn x() { crate::mid::inner::g('a'); }\n"}, 1,
                   ["up the layers", "side.rs -> mid/inner.rs"]),
        "upward through a group": ({"low.rs": "use crate::{side, top::t as u};\n"}, 1, ["low.rs -> top.rs"]),
        "upward through a macro": ({"side.rs": "#[macro_export]\nmacro_rules! m { () => { $crate::top::t() } }\n"}, 1,
                                   ["side.rs -> top.rs"]),
        "unknown module": ({"extra.rs": "\n"}, 1, ["module `extra` is in no row"]),
    }
    import io
    failed = 0
    for name, (change, want_bad, want_text) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            tree = dict(files, **change)
            for path, text in tree.items():
                os.makedirs(os.path.dirname(os.path.join(d, "src", path)), exist_ok=True)
                with open(os.path.join(d, "src", path), "w") as fh:
                    fh.write(text)
            with open(os.path.join(d, "arch.md"), "w") as fh:
                fh.write(doc)
            buf = io.StringIO()
            bad = check(os.path.join(d, "src"), os.path.join(d, "arch.md"), buf)
            text = buf.getvalue().replace(os.sep, "/")
            ok = (bad > 0) == (want_bad > 0) and all(t in text for t in want_text)
            if not ok:
                failed += 1
                print(f"self-test {name!r} FAILED: {bad} violations, output:\n{text}")
    print(f"check_layers self-test: {len(cases) - failed} of {len(cases)} cases pass")
    return failed


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=os.path.join(root, "src"))
    ap.add_argument("--doc", default=os.path.join(root, "docs", "architecture.md"))
    ap.add_argument("--self-test", action="store_true", help="run the fixtures only")
    a = ap.parse_args()
    if a.self_test:
        sys.exit(1 if self_test() else 0)
    sys.exit(1 if check(a.src, a.doc) else 0)


if __name__ == "__main__":
    main()
