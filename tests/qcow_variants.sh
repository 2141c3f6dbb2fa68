# qcow_variants.sh --- builds, in the current folder, the qcow2 and qcow
# images that r_info_json and r_check_json compare with qemu-img: the
# variants of r_qcow_formats (compat 0.10 and 1.1, cluster sizes 512 B to
# 2 MiB, refcount widths 1 to 64, zlib and zstd, extended L2, lazy
# refcounts, zero clusters, a dirty image, snapshots, qcow v1, a backing
# file), e2qcow's own -Q images (plain, zlib, zstd) and e2image's.
# Source it after test_lib.sh; it sets VARIANTS to the list of files.

make_variants() {
	local i cs rb
	mkdir vsrc
	for i in 1 2 3 4; do
		seq $((i * 1000)) $((i * 1000 + 3000 * i)) >vsrc/file$i
	done
	yes "a line of compressible text" | head -c 300000 >vsrc/text
	find vsrc -exec touch -h -d "@$TEST_TIME" {} +
	mke2fs -q -F -t ext4 -U "$TEST_UUID" -E "hash_seed=$TEST_HASH_SEED" \
		-d vsrc disk.raw 20M >/dev/null || fail "mke2fs failed"
	VARIANTS=""
	v() {	# NAME qemu-img-convert-options...
		local name=$1
		shift
		qemu-img convert "$@" disk.raw "$name" 2>/dev/null &&
			VARIANTS+=" $name"
	}
	v compat_0.10.qcow2 -O qcow2 -o compat=0.10
	v compat_1.1.qcow2 -O qcow2 -o compat=1.1
	for cs in 512 4k 64k 2M; do
		v cluster_$cs.qcow2 -O qcow2 -o cluster_size=$cs
	done
	for rb in 1 8 64; do
		v refcount_$rb.qcow2 -O qcow2 -o refcount_bits=$rb
	done
	v zlib.qcow2 -O qcow2 -c
	v zlib_v2.qcow2 -O qcow2 -c -o compat=0.10
	qemu-img convert -O qcow2 -c -o compression_type=zstd disk.raw \
		zstd.qcow2 2>/dev/null && "$E2QCOW" -r zstd.qcow2 /dev/null \
		2>/dev/null && VARIANTS+=" zstd.qcow2"
	v extended_l2.qcow2 -O qcow2 -o extended_l2=on
	v lazy.qcow2 -O qcow2 -o lazy_refcounts=on
	v qcow1.qcow -O qcow
	if command -v qemu-io >/dev/null; then
		qemu-img convert -O qcow2 disk.raw zero.qcow2
		qemu-io -f qcow2 -c "write -z 0 1M" -c "write -z -u 2M 1M" \
			zero.qcow2 >/dev/null && VARIANTS+=" zero.qcow2"
		qemu-img create -q -f qcow2 -o lazy_refcounts=on dirty.qcow2 8M
		bash -c 'qemu-io -f qcow2 -c "write -P 0x42 0 1M" -c abort dirty.qcow2; :' \
			>/dev/null 2>&1
		VARIANTS+=" dirty.qcow2"
	fi
	qemu-img convert -O qcow2 disk.raw snap.qcow2
	qemu-img snapshot -c first snap.qcow2
	qemu-img snapshot -c second snap.qcow2
	VARIANTS+=" snap.qcow2"
	qemu-img create -q -f qcow2 -b compat_1.1.qcow2 -F qcow2 overlay.qcow2
	VARIANTS+=" overlay.qcow2"
	"$E2QCOW" -Q disk.raw ours.qcow2 && VARIANTS+=" ours.qcow2"
	"$E2QCOW" -Q -z zlib disk.raw ours_zlib.qcow2 &&
		VARIANTS+=" ours_zlib.qcow2"
	"$E2QCOW" -Q -z zstd disk.raw ours_zstd.qcow2 2>/dev/null &&
		VARIANTS+=" ours_zstd.qcow2"
	e2image -Q disk.raw e2image.qcow2 2>/dev/null &&
		VARIANTS+=" e2image.qcow2"
	echo "variants:$VARIANTS"
	[ "$(echo $VARIANTS | wc -w)" -ge 20 ] || fail "too few variants made"
}
