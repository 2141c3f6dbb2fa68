#!/bin/bash
# e2fsck_reads.sh --- which blocks that e2fsck reads does an image lack?
#
#   E2QCOW=/tmp/build/misc/e2qcow tests/e2fsck_reads.sh [-k] FS [RESTORED] [-- E2QCOW_OPTIONS]
#
# Records the byte ranges `e2fsck -fn FS` reads from FS (strace, pread64
# and read on its descriptor), restores the image e2qcow -Q makes of FS
# (or takes RESTORED, a raw image made some other way), and lists every
# block e2fsck read whose bytes differ in the restored image, with its
# owner: a group structure (superblock, descriptors, bitmaps, inode table
# and whether it lies in the unused tail), or the inode (debugfs icheck),
# its path (ncheck) and type.  Then it prints whether e2fsck -fn says the
# same on both, names filtered.  A developer tool, not run by make check;
# it needs strace, debugfs, dumpe2fs, python3.  -k keeps the work folder.
# Exit: 0 same output, 1 different output, 2 usage or tool failure.
set -u
keep=0
[ "${1:-}" = -k ] && { keep=1; shift; }
[ $# -ge 1 ] || { sed -n '3,4p' "$0" >&2; exit 2; }
fs=$(realpath "$1"); shift
restored=
if [ $# -ge 1 ] && [ "$1" != -- ]; then restored=$(realpath "$1"); shift; fi
[ "${1:-}" = -- ] && shift
for t in strace debugfs dumpe2fs python3 e2fsck; do
	command -v $t >/dev/null || { echo "e2fsck_reads: $t is missing" >&2; exit 2; }
done
export E2FSCK_CONFIG=/dev/null LC_ALL=C TZ=UTC
work=$(mktemp -d "${TMPDIR:-/tmp}/e2fsck_reads.XXXXXX") || exit 2
[ $keep = 1 ] && echo "work folder: $work" || trap 'rm -rf "$work"' EXIT

if [ -z "$restored" ]; then
	E2QCOW=${E2QCOW:-e2qcow}
	"$E2QCOW" "$@" -Q "$fs" "$work/image.qcow2" 2>"$work/e2qcow.err"
	rc=$?
	sed 's/^/e2qcow: /' "$work/e2qcow.err" | head -5
	[ -f "$work/image.qcow2" ] || { echo "e2qcow -Q exited $rc, no image" >&2; exit 2; }
	"$E2QCOW" -r "$work/image.qcow2" "$work/restored.raw" ||
		{ echo "e2qcow -r failed" >&2; exit 2; }
	restored=$work/restored.raw
fi

strace -f -y -qq -e trace=pread64,read,lseek -e signal=none -o "$work/trace" \
	e2fsck -fn "$fs" >"$work/orig.out" 2>&1
e2fsck -fn "$restored" >"$work/restored.out" 2>&1
dumpe2fs "$fs" >"$work/dumpe2fs" 2>/dev/null

python3 - "$fs" "$restored" "$work" <<'PY'
import re, subprocess, sys
fs, restored, work = sys.argv[1:4]

def dumpe2fs_layout():
    """(block size, {block: owner}) from dumpe2fs of the original."""
    bs, first, owners = 1024, 0, {}
    group, ipb, inodes_per_group, isize, itables = None, 0, 0, 256, {}
    text = open(work + '/dumpe2fs', errors='replace').read()
    m = re.search(r'^Block size:\s+(\d+)', text, re.M)
    if m: bs = int(m.group(1))
    m = re.search(r'^Inode size:\s+(\d+)', text, re.M)
    if m: isize = int(m.group(1))
    m = re.search(r'^Inodes per group:\s+(\d+)', text, re.M)
    if m: inodes_per_group = int(m.group(1))
    ipb = max(1, bs // isize)
    def add(a, b, what):
        for x in range(a, (b if b is not None else a) + 1):
            owners.setdefault(x, what)
    for line in text.splitlines():
        m = re.match(r'^Group (\d+):', line)
        if m:
            group = int(m.group(1))
            flags = re.search(r'\[([^]]*)\]', line)
            flags = flags.group(1) if flags else ''
            continue
        if group is None:
            continue
        rng = r'(\d+)(?:-(\d+))?'
        for pat, what in ((r'(Primary|Backup) superblock at ' + rng, 'sb'),
                          (r'Group descriptors at ' + rng, 'gdt'),
                          (r'Reserved GDT blocks at ' + rng, 'rgdt'),
                          (r'Block bitmap at ' + rng, 'bbitmap'),
                          (r'Inode bitmap at ' + rng, 'ibitmap'),
                          (r'Inode table at ' + rng, 'itable')):
            for mm in re.finditer(pat, line):
                g = mm.groups()
                if what == 'sb':
                    kind, a, b = g[0].lower() + ' superblock', g[1], g[2]
                else:
                    kind, a, b = {'gdt': 'group descriptors',
                                  'rgdt': 'reserved GDT block',
                                  'bbitmap': 'block bitmap',
                                  'ibitmap': 'inode bitmap',
                                  'itable': 'inode table'}[what], g[0], g[1]
                a = int(a); b = int(b) if b else a
                if what == 'itable':
                    itables[group] = (a, b)
                    for x in range(a, b + 1):
                        owners.setdefault(x, 'inode table of group %d (block %d of %d)%s'
                                          % (group, x - a, b - a + 1, ' [' + flags + ']' if flags else ''))
                else:
                    add(a, b, '%s of group %d%s' % (kind, group, ' [' + flags + ']' if flags else ''))
        m = re.search(r'(\d+) unused inodes', line)
        if m and group in itables:
            a, b = itables[group]
            used = -(-(inodes_per_group - int(m.group(1))) // ipb)
            for x in range(a + used, b + 1):
                owners[x] += ' (unused tail)'
    return bs, owners

def read_ranges():
    """Byte ranges read from the original's descriptor(s)."""
    ranges, pos = [], {}
    name = re.escape(fs)
    for line in open(work + '/trace', errors='replace'):
        m = re.search(r'(pread64|read|lseek)\((\d+)<([^>]*)>, (.*)\) += (-?\d+)', line)
        if not m or m.group(3) != fs:
            continue
        call, fd, args, ret = m.group(1), m.group(2), m.group(4), int(m.group(5))
        if call == 'lseek':
            mm = re.match(r'(-?\d+), SEEK_SET', args)
            if mm: pos[fd] = int(mm.group(1))
            elif ret >= 0: pos[fd] = ret
            continue
        if ret <= 0:
            continue
        if call == 'pread64':
            off = int(args.rsplit(', ', 1)[1])
        else:
            off = pos.get(fd, 0)
            pos[fd] = off + ret
        ranges.append((off, ret))
    return ranges

bs, owners = dumpe2fs_layout()
blocks = sorted({b for off, n in read_ranges()
                 for b in range(off // bs, (off + n - 1) // bs + 1)})
diff = []
with open(fs, 'rb') as a, open(restored, 'rb') as b:
    for blk in blocks:
        a.seek(blk * bs); b.seek(blk * bs)
        x, y = a.read(bs), b.read(bs)
        y = y + bytes(len(x) - len(y)) if len(y) < len(x) else y
        if x != y:
            diff.append(blk)
print('e2fsck -fn read %d blocks of %s; %d differ in the restored image'
      % (len(blocks), fs, len(diff)))

def debugfs(cmd):
    r = subprocess.run(['debugfs', '-R', cmd, fs], capture_output=True, text=True)
    return r.stdout

rest = [b for b in diff if b not in owners and b != 0]
inode_of = {}
for i in range(0, len(rest), 200):
    chunk = rest[i:i + 200]
    for line in debugfs('icheck ' + ' '.join(map(str, chunk))).splitlines()[1:]:
        p = line.split(None, 1)
        if len(p) == 2 and p[0].isdigit() and p[1].strip().isdigit():
            inode_of[int(p[0])] = int(p[1])
paths = {}
inos = sorted(set(inode_of.values()))
if inos:
    for line in debugfs('ncheck ' + ' '.join(map(str, inos))).splitlines()[1:]:
        p = line.split(None, 1)
        if len(p) == 2 and p[0].isdigit():
            paths.setdefault(int(p[0]), p[1])
types, roles = {}, {}
for ino in inos:
    st = debugfs('stat <%d>' % ino)
    m = re.search(r'Type: (\S+)', st)
    types[ino] = m.group(1) if m else '?'
    # the block list: (IND):300, (0-11):4494-4505, (ETB0):5838 ...
    for tag, a, b in re.findall(r'\(([^)]*)\):(\d+)(?:-(\d+))?', st):
        kind = 'data block ' + tag if tag[:1].isdigit() else tag + ' (map)'
        for x in range(int(a), int(b or a) + 1):
            roles[(ino, x)] = kind
for blk in diff:
    if blk == 0:
        who = 'block 0 (boot block)'
    elif blk in owners:
        who = owners[blk]
    elif blk in inode_of:
        ino = inode_of[blk]
        who = 'inode %d (%s, %s): %s' % (ino, types.get(ino, '?'),
                                         paths.get(ino, 'no path'),
                                         roles.get((ino, blk), '?'))
    else:
        who = 'no owner found (icheck): a block of a damaged map, unused tail, or free'
    print('  block %d: %s' % (blk, who))
PY
filter() { sed -e "s#$1#FS#g"; }
filter "$fs" <"$work/orig.out" >"$work/a"
filter "$restored" <"$work/restored.out" >"$work/b"
if cmp -s "$work/a" "$work/b"; then
	echo "e2fsck -fn prints the same on both"
	exit 0
fi
echo "e2fsck -fn differs (original <, restored >):"
diff "$work/a" "$work/b" | head -40
exit 1
