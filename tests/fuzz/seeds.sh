#!/bin/bash
# seeds.sh E2QCOW OUTDIR --- seed corpora for the fuzz targets.
#
# OUTDIR/qcow: for the reader and io_manager targets of
# tests/progs/fuzz_qcow.c: the hostile and valid images of
# tests/fixtures/hostile/make_hostile.py; small filesystems (1 MiB ext4 and
# ext2 with a few files) written by qemu-img in every variant that
# tests/r_qcow_formats makes (compat 0.10/1.1, cluster sizes 512 B to 64 KiB,
# refcount widths 1 to 64, zlib and zstd, extended L2 and subclusters, zero
# clusters, lazy refcounts clean and dirty, internal snapshots, a backing
# overlay, qcow v1 plain and compressed); and e2qcow -Q exports of them
# (plain, -z zlib, -z zstd, -s).  Only files up to MAX_LEN bytes (default 1 MiB,
# libFuzzer's -max_len) are kept: bigger clusters make bigger files.
#
# OUTDIR/walk, OUTDIR/base4.img, OUTDIR/base2.img: for tests/fuzz/fuzz_walk.c
# with FUZZ_WALK_BASE=base4.img:base2.img: the d_lib.sh bases (those of
# tests/fixtures/fuzz-found/walk-bases/, that r_fuzz_found replays its walk
# inputs on), and as seeds
# the targeted corruptions of d_lib.sh turned into patch lists (first byte
# 0 for base4, 1 for base2; then 5-byte offset/XOR patches).

e2qcow=$(cd "$(dirname "${1:?usage: $0 E2QCOW OUTDIR}")" && pwd)/$(basename "$1")
out=${2:?usage: $0 E2QCOW OUTDIR}
MAX_LEN=${MAX_LEN:-1048576}
TESTS=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out/qcow" "$out/walk" "$out/tmp"
out=$(cd "$out" && pwd)
cd "$out/tmp" || exit 1
export SRCDIR=$TESTS E2QCOW=$e2qcow
# shellcheck source=../test_lib.sh
. "$TESTS/test_lib.sh"
# shellcheck source=../d_lib.sh
. "$TESTS/d_lib.sh"
exec 2>"$out/seeds.log"

keep() {	# FILE NAME: into the qcow corpus if small enough
	local size
	size=$(stat -c %s "$1" 2>/dev/null) || return 0
	[ "$size" -le "$MAX_LEN" ] && cp "$1" "$out/qcow/$2"
	return 0
}

mkdir -p hostile && python3 "$TESTS/fixtures/hostile/make_hostile.py" hostile >/dev/null &&
	rm -f hostile/manifest && for f in hostile/*; do keep "$f" "h_${f#hostile/}"; done

# Two small filesystems, deterministic.
mkdir -p src
seq 1 3000 | while read -r n; do echo "$n $((n * 7919 % 104729))"; done > src/numbers
yes "a line of compressible text" | head -c 60000 > src/text
mkdir src/dir && echo small > src/dir/small && ln -s ../text src/dir/link
mke2fs -q -F -t ext4 -b 1024 -N 64 -U "$TEST_UUID" -E hash_seed="$TEST_HASH_SEED" \
	-d src fs4.raw 1M >/dev/null
mke2fs -q -F -t ext2 -b 1024 -N 32 -U "$TEST_UUID" -E hash_seed="$TEST_HASH_SEED" \
	-d src fs2.raw 1M >/dev/null
[ -s fs4.raw ] && [ -s fs2.raw ] || { echo "mke2fs failed" >&2; exit 1; }

variant() {	# NAME qemu-img-convert-options...: of both filesystems
	local name=$1 fs
	shift
	for fs in fs4 fs2; do
		rm -f v.img
		qemu-img convert -f raw "$@" $fs.raw v.img && keep v.img "${name}_$fs"
	done
}
variant compat_0.10 -O qcow2 -o compat=0.10
variant compat_1.1 -O qcow2 -o compat=1.1
for cs in 512 1k 4k 16k 64k; do
	variant cluster_$cs -O qcow2 -o cluster_size=$cs
done
for rb in 1 2 4 8 16 32 64; do
	variant refcount_bits_$rb -O qcow2 -o refcount_bits=$rb,cluster_size=4k
done
variant zlib -O qcow2 -c -o cluster_size=4k
variant zlib_v2 -O qcow2 -c -o compat=0.10,cluster_size=4k
variant zlib_512 -O qcow2 -c -o cluster_size=512
variant zlib_64k -O qcow2 -c
variant zstd -O qcow2 -c -o compression_type=zstd,cluster_size=4k
variant zstd_64k -O qcow2 -c -o compression_type=zstd
variant extended_l2 -O qcow2 -o extended_l2=on,cluster_size=16k
variant extended_l2_c -O qcow2 -c -o extended_l2=on,cluster_size=16k
variant extended_l2_64k -O qcow2 -o extended_l2=on
variant lazy_refcounts -O qcow2 -o lazy_refcounts=on,cluster_size=4k
variant qcow1 -O qcow

if command -v qemu-io >/dev/null; then
	qemu-img create -q -f qcow2 -o extended_l2=on,cluster_size=16k sub.img 1M
	qemu-io -f qcow2 -c "write -P 0x55 8k 4k" -c "write -P 0x66 64k 16k" \
		-c "write -z 68k 8k" -c "write -P 0x77 130k 3k" \
		-c "write -z -u 512k 64k" -c "write -P 0x11 768k 64k" \
		-c "write -z 768k 2k" sub.img >/dev/null && keep sub.img subclusters
	qemu-img convert -O qcow2 -o cluster_size=4k fs4.raw zero.img
	qemu-io -f qcow2 -c "write -z 0 64k" -c "write -z -u 512k 128k" \
		zero.img >/dev/null && keep zero.img zero_clusters
	qemu-img create -q -f qcow2 -o lazy_refcounts=on,cluster_size=4k dirty.img 1M
	bash -c 'qemu-io -f qcow2 -c "write -P 0x42 0 256k" -c abort dirty.img; :' \
		>/dev/null 2>&1
	keep dirty.img dirty_lazy_refcounts
	qemu-img create -q -f qcow c1.img 1M
	qemu-io -f qcow -c "write -c -P 0x41 0 4k" -c "write -c -P 0x42 8k 4k" \
		-c "write -P 0x43 12k 8k" -c "write -c -P 0x44 512k 4k" \
		c1.img >/dev/null && keep c1.img qcow1_compressed
	qemu-img convert -O qcow2 -o cluster_size=4k fs4.raw snap.img
	qemu-img snapshot -c first snap.img
	keep snap.img snapshot_one
	qemu-io -f qcow2 -c "write -P 0x99 0 64k" snap.img >/dev/null
	qemu-img snapshot -c second snap.img
	qemu-io -f qcow2 -c "write -P 0x97 512k 64k" snap.img >/dev/null
	keep snap.img snapshots_two
	# a backing overlay (opened with the backing ignored, then followed:
	# the target's file has no name, so the backing open fails cleanly)
	qemu-img convert -O qcow2 -o cluster_size=4k fs4.raw base.img
	qemu-img create -q -f qcow2 -o cluster_size=4k -b base.img -F qcow2 over.img
	qemu-io -f qcow2 -c "write -P 0x31 4k 4k" over.img >/dev/null &&
		keep over.img backing_overlay
fi

for fs in fs4 fs2; do
	for z in "" "-z zlib" "-z zstd" "-s"; do
		rm -f e.qcow2
		# shellcheck disable=SC2086
		"$e2qcow" -Q $z $fs.raw e.qcow2 >/dev/null 2>&1 &&
			keep e.qcow2 "e2qcow_${fs}$(echo "$z" | tr -d ' ')"
	done
done

# The walk: bases, and the targeted damages as patch lists.
build_damage_bases >build.log 2>&1 || { cat build.log >&2; exit 1; }
# Fuzz the bases r_fuzz_found replays on where they are (bases built again
# differ in inode times and checksums, not in layout: the patches below,
# made against the fresh ones, fit them)
for b in base4 base2; do
	if [ -f "$TESTS/fixtures/fuzz-found/walk-bases/$b.img.gz" ]; then
		gzip -dc "$TESTS/fixtures/fuzz-found/walk-bases/$b.img.gz" >"$out/$b.img"
	else
		cp $b.img "$out/"
	fi
done
printf '\0' > "$out/walk/base4_pristine"
printf '\1' > "$out/walk/base2_pristine"
for ((n = 0; n < D_TARGETED; n++)); do
	damage_fs "$n" d.img >/dev/null 2>&1
	case $n in
	18|19|20|21|22|23|24|25|28|30) b=base2 sel=1 ;;
	*) b=base4 sel=0 ;;
	esac
	[ "$(stat -c %s d.img)" = "$(stat -c %s $b.img)" ] || continue
	python3 - "$b.img" d.img "$sel" "$out/walk/targeted_$n" <<'EOF'
import struct, sys
a = open(sys.argv[1], 'rb').read()
b = open(sys.argv[2], 'rb').read()
patches = [struct.pack('<IB', i, x ^ y) for i, (x, y) in enumerate(zip(a, b)) if x != y]
if 0 < len(patches) <= 4096:
    open(sys.argv[4], 'wb').write(bytes([int(sys.argv[3])]) + b''.join(patches))
EOF
done
cd "$out" && rm -rf tmp
echo "seeds: $(ls qcow | wc -l) qcow images, $(ls walk | wc -l) walk inputs"
