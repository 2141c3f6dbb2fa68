#!/usr/bin/env python3
"""htree_check.py ORIGINAL SCRAMBLED: compare two `debugfs -R "htree_dump DIR"`
outputs of the same directory, before and after e2qcow -s.

Checks, and prints one line per finding:
  - the index is the same: every line that is not a leaf entry or a leaf
    block checksum (root info, counts, limits, index checksums, every index
    entry's hash and block) is identical, in the same order;
  - each leaf (by block) holds as many entries as before;
  - in SCRAMBLED, every entry whose hash lay in its leaf's range in ORIGINAL
    lies in it too: (key & ~1) <= hash < next key, the keys read from the
    index (the first entry of a node inherits its parent's key), and every
    one that lay outside lies outside on the same side;
  - no leaf entry keeps its name, but names of 1 or 2 characters.
Prints "ok: ..." and exits 0, or "MISMATCH: ..." lines and exits 1.
"""
import re
import sys

ENTRY = re.compile(r"(\d+) 0x([0-9a-f]{8})-[0-9a-f]{8} \((\d+)\) (\S*)")
INDEX = re.compile(r"Entry #(\d+): Hash 0x([0-9a-f]{8}), block (\d+)")


def parse(path):
    """Index lines, and the leaves in tree order: (block, lo, next, entries)."""
    lines = open(path, errors="replace").read().splitlines()
    skeleton, leaves = [], []
    levels = 0
    i = 0
    for line in lines:
        m = re.search(r"Indirect levels: (\d+)", line)
        if m:
            levels = int(m.group(1))
    pos = [0]

    def next_line():
        while pos[0] < len(lines) and not lines[pos[0]].strip():
            pos[0] += 1
        if pos[0] >= len(lines):
            return None
        pos[0] += 1
        return lines[pos[0] - 1]

    def node(level, lo, hi):
        # count, limit, maybe checksum, then the entries
        entries = []
        while True:
            line = next_line()
            if line is None:
                return
            skeleton.append(line)
            m = INDEX.search(line)
            if m:
                entries.append((int(m.group(1)), int(m.group(2), 16),
                                int(m.group(3))))
                count = expected[0]
                if len(entries) == count:
                    break
            m = re.search(r"Number of entries \(count\): (\d+)", line)
            if m:
                expected[0] = int(m.group(1))
                if expected[0] == 0:
                    return
        for k, (num, key, blk) in enumerate(entries):
            key = key if k else lo
            nxt = entries[k + 1][1] if k + 1 < len(entries) else hi
            header = next_line()
            if header is None:
                return
            skeleton.append(header)
            if level < levels:
                node(level + 1, key, nxt)
            else:
                leaf(blk, key, nxt)

    def leaf(blk, lo, nxt):
        found = []
        while pos[0] < len(lines):
            line = lines[pos[0]]
            if INDEX.search(line) and "Reading" not in line:
                break
            pos[0] += 1
            if line.startswith("Reading directory block"):
                continue
            if "leaf block checksum" in line:
                continue
            for m in ENTRY.finditer(line):
                found.append((int(m.group(2), 16), m.group(4)))
        leaves.append((blk, lo, nxt, found))

    expected = [0]
    # root info lines up to the root's entries
    while pos[0] < len(lines):
        line = lines[pos[0]]
        if line.startswith("Number of entries"):
            break
        skeleton.append(line)
        pos[0] += 1
    node(0, 0, 1 << 32)
    return skeleton, leaves


def side(h, lo, nxt):
    if h < (lo & ~1):
        return "below"
    if h > (nxt & ~1) and nxt < (1 << 32):
        return "above"
    return "in"


def main():
    a_skel, a_leaves = parse(sys.argv[1])
    b_skel, b_leaves = parse(sys.argv[2])
    bad = []
    if a_skel != b_skel:
        for x, y in zip(a_skel, b_skel):
            if x != y:
                bad.append("index differs: %r / %r" % (x, y))
                break
        else:
            bad.append("index has %d lines, was %d" % (len(b_skel), len(a_skel)))
    if len(a_leaves) != len(b_leaves):
        bad.append("%d leaves, was %d" % (len(b_leaves), len(a_leaves)))
    names = 0
    for (blk, lo, nxt, old), (blk2, lo2, nxt2, new) in zip(a_leaves, b_leaves):
        if blk != blk2 or len(old) != len(new):
            bad.append("leaf %d: %d entries, was %d (block %d)" %
                       (blk2, len(new), len(old), blk))
            continue
        olds = sorted(side(h, lo, nxt) for h, _ in old)
        news = sorted(side(h, lo, nxt) for h, _ in new)
        strict = [h for h, _ in new if not (lo & ~1) <= h < nxt]
        if olds != news:
            bad.append("leaf %d: hashes in/out of range %s, were %s" %
                       (blk, news, olds))
        elif strict and all(s == "in" for s in olds):
            bad.append("leaf %d: hash 0x%08x outside [0x%08x, 0x%x)" %
                       (blk, strict[0], lo & ~1, nxt))
        kept = set(n for _, n in old if len(n) > 2) & set(n for _, n in new)
        if kept:
            bad.append("leaf %d keeps names %s" % (blk, sorted(kept)[:3]))
        names += len(new)
    for line in bad[:10]:
        print("MISMATCH: htree %s: %s" % (sys.argv[2], line))
    if bad:
        return 1
    print("ok: htree %s: same index (%d lines), %d leaves, %d entries, "
          "every hash in its range as before" %
          (sys.argv[2], len(a_skel), len(a_leaves), names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
