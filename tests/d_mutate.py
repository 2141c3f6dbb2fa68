#!/usr/bin/env python3
"""d_mutate.py --- deterministic corruptions of an ext2/3/4 image, for the
d_* tests (damaged filesystems) and the fuzz driver d_fuzz.sh.

  d_mutate.py flip IMAGE REF SEED COUNT
      XOR COUNT random bytes, in blocks that are metadata according to REF
      (e2image -r of the pristine IMAGE: its non-zero blocks), with random
      non-zero values.  SEED makes the choice reproducible.
  d_mutate.py flip-plan BASE4 REF4 BASE2 REF2 FIRST LAST
      Prints, for every N from FIRST to LAST, the bytes that "flip" with
      seed N and 1 + N % 24 flips would write (base4 for even N, base2 for
      odd), one "N OFFSET VALUE" line each: one process for all of them.
  d_mutate.py share-root IMAGE BLOCK OFFSET
      The inode at BLOCK:OFFSET has an extent tree of depth >= 1: make its
      root hold four index entries, all equal to the first (a shared child,
      what a loop looks like once depths are checked).
  d_mutate.py share-ind IMAGE BLOCKSIZE BLOCK
      Indirect block BLOCK (a DIND or TIND): every entry becomes its first.
  d_mutate.py zero IMAGE BYTE_OFFSET LENGTH
  d_mutate.py dirblock IMAGE BLOCKSIZE BLOCK INO PARENT
      Writes at BLOCK a directory block holding "." (INO) and ".." (PARENT).
  d_mutate.py words IMAGE BLOCKSIZE BLOCK WORD...
      Writes BLOCK as the little-endian 32-bit WORDs, zeros after them.
  d_mutate.py le16 IMAGE BYTE_OFFSET VALUE
"""
import random
import struct
import sys


def metadata_blocks(ref, bs):
    with open(ref, 'rb') as f:
        data = f.read()
    zero = bytes(bs)
    return [n for n in range(len(data) // bs + (len(data) % bs > 0))
            if data[n * bs:(n + 1) * bs] != zero[:len(data[n * bs:(n + 1) * bs])]]


def flip(image, ref, seed, count, bs=1024):
    rng = random.Random(int(seed))
    blocks = metadata_blocks(ref, bs)
    with open(image, 'r+b') as f:
        for _ in range(int(count)):
            blk = rng.choice(blocks)
            off = blk * bs + rng.randrange(bs)
            f.seek(off)
            old = f.read(1)[0]
            f.seek(off)
            f.write(bytes([old ^ rng.randrange(1, 256)]))
            print("flipped byte %d (1 KiB block %d)" % (off, blk))


def flip_bytes(image, blocks, seed, count, bs=1024):
    """The (offset, value) pairs flip() writes, in order."""
    rng = random.Random(int(seed))
    out, cur = [], {}
    with open(image, 'rb') as f:
        for _ in range(int(count)):
            blk = rng.choice(blocks)
            off = blk * bs + rng.randrange(bs)
            if off not in cur:
                f.seek(off)
                cur[off] = f.read(1)[0]
            cur[off] ^= rng.randrange(1, 256)
            out.append((off, cur[off]))
    return out


def flip_plan(base4, ref4, base2, ref2, first, last):
    blocks = {0: metadata_blocks(ref4, 1024), 1: metadata_blocks(ref2, 1024)}
    for n in range(int(first), int(last) + 1):
        image = base4 if n % 2 == 0 else base2
        for off, value in flip_bytes(image, blocks[n % 2], n, 1 + n % 24):
            print(n, off, value)


def share_root(image, block, offset, bs):
    with open(image, 'r+b') as f:
        base = int(block) * bs + int(offset, 0) + 40   # i_block
        f.seek(base)
        ib = bytearray(f.read(60))
        magic, entries, mx, depth = struct.unpack_from('<HHHH', ib, 0)
        if magic != 0xf30a or depth == 0:
            sys.exit("share-root: no extent tree of depth >= 1 there")
        struct.pack_into('<HH', ib, 2, 4, 4)
        for i in range(1, 4):
            ib[12 + 12 * i:24 + 12 * i] = ib[12:24]
        f.seek(base)
        f.write(ib)
        print("root of the inode at %s:%s: 4 index entries to one child"
              % (block, offset))


def share_ind(image, bs, block):
    bs = int(bs)
    with open(image, 'r+b') as f:
        f.seek(int(block) * bs)
        first = f.read(4)
        f.seek(int(block) * bs)
        f.write(first * (bs // 4))
        print("indirect block %s: every entry = the first" % block)


def zero(image, off, length):
    with open(image, 'r+b') as f:
        f.seek(int(off))
        f.write(bytes(int(length)))
        print("zeroed %s bytes at %s" % (length, off))


def dirblock(image, bs, block, ino, parent):
    bs = int(bs)
    b = struct.pack('<IHBB4s', int(ino), 12, 1, 2, b'.')
    b += struct.pack('<IHBB4s', int(parent), bs - 12, 2, 2, b'..')
    with open(image, 'r+b') as f:
        f.seek(int(block) * bs)
        f.write(b + bytes(bs - len(b)))
    print("block %s: a directory block of inode %s" % (block, ino))


def words(image, bs, block, *values):
    bs = int(bs)
    b = b''.join(struct.pack('<I', int(v, 0)) for v in values)
    with open(image, 'r+b') as f:
        f.seek(int(block) * bs)
        f.write(b + bytes(bs - len(b)))
    print("block %s: %d words" % (block, len(values)))


def le16(image, off, value):
    with open(image, 'r+b') as f:
        f.seek(int(off, 0))
        f.write(struct.pack('<H', int(value, 0)))
    print("16 bits at %s = %s" % (off, value))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'flip':
        flip(*args)
    elif cmd == 'flip-plan':
        flip_plan(*args)
    elif cmd == 'share-root':
        share_root(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else 1024)
    elif cmd == 'share-ind':
        share_ind(*args)
    elif cmd == 'zero':
        zero(*args)
    elif cmd == 'dirblock':
        dirblock(*args)
    elif cmd == 'words':
        words(*args)
    elif cmd == 'le16':
        le16(*args)
    else:
        sys.exit(__doc__)


main()
