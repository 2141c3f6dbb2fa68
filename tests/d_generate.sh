#!/bin/bash
# d_generate.sh --- makes the damaged filesystems of d_lib.sh and, with
# --check, runs e2qcow -Q on each (as the d_sample test does on a sample).
#
#   E2QCOW=/tmp/build/misc/e2qcow tests/d_generate.sh [--check] DIR [FIRST [LAST]]
#
# Filesystems FIRST..LAST (default 0..199) are written to DIR/NNN.img with
# DIR/NNN.txt describing the damage; numbers below 32 are targeted
# corruptions, the rest byte flips in metadata blocks.  With --check each
# image is judged and removed unless it failed; the exit status is 1 when
# one failed.  Deterministic: the same numbers give the same filesystems.
SRCDIR=$(cd "$(dirname "$0")" && pwd)
check=0
[ "$1" = --check ] && { check=1; shift; }
[ -n "$1" ] || { echo "usage: $0 [--check] DIR [FIRST [LAST]]" >&2; exit 1; }
mkdir -p "$1" && cd "$1" || exit 1
first=${2:-0} last=${3:-199}
. "$SRCDIR/test_lib.sh"
. "$SRCDIR/d_lib.sh"
require_tool e2image debugfs dumpe2fs python3
[ $check = 0 ] || require_tool qemu-img timeout
[ $check = 0 ] || require_e2qcow
[ -s base4.ref ] && [ -s base2.ref ] || build_damage_bases
failed=0
for ((n = first; n <= last; n++)); do
	img=$(printf '%03d.img' "$n")
	damage_fs "$n" "$img" | tee "${img%.img}.txt"
	[ -z "$D_OPTS" ] || echo "e2qcow options: $D_OPTS" >>"${img%.img}.txt"
	[ $check = 1 ] || continue
	if check_damaged "$img"; then
		rm -f "$img" "$img.flips"
	else
		failed=$((failed + 1))
	fi
done
rm -f out.qcow2 err.txt qemu.txt
[ $check = 0 ] || echo "$failed of $((last - first + 1)) failed"
[ $failed = 0 ]
