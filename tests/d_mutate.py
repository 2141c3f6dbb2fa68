#!/usr/bin/env python3
"""d_mutate.py --- deterministic corruptions of an ext2/3/4 image, for the
d_* tests (damaged filesystems) and the fuzz driver d_fuzz.sh.

  d_mutate.py flip IMAGE REF SEED COUNT
      XOR COUNT random bytes, in blocks that are metadata according to REF
      (e2image -r of the pristine IMAGE: its non-zero blocks), with random
      non-zero values.  SEED makes the choice reproducible.
  d_mutate.py share-root IMAGE BLOCK OFFSET
      The inode at BLOCK:OFFSET has an extent tree of depth >= 1: make its
      root hold four index entries, all equal to the first (a shared child,
      what a loop looks like once depths are checked).
  d_mutate.py share-ind IMAGE BLOCKSIZE BLOCK
      Indirect block BLOCK (a DIND or TIND): every entry becomes its first.
  d_mutate.py zero IMAGE BYTE_OFFSET LENGTH
"""
import random
import struct
import sys


def metadata_blocks(ref, bs):
    blocks = []
    with open(ref, 'rb') as f:
        n = 0
        while True:
            b = f.read(bs)
            if not b:
                break
            if b.count(0) != len(b):
                blocks.append(n)
            n += 1
    return blocks


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


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'flip':
        flip(*args)
    elif cmd == 'share-root':
        share_root(args[0], args[1], args[2], int(args[3]) if len(args) > 3 else 1024)
    elif cmd == 'share-ind':
        share_ind(*args)
    elif cmd == 'zero':
        zero(*args)
    else:
        sys.exit(__doc__)


main()
