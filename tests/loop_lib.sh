# loop_lib.sh --- an ext4 filesystem mounted from a loop device over a file,
# for the tests of what a power cut or a failing disk leaves of an output
# (source it after test_lib.sh).  Needs root; skips with a clear line only
# where the machine has no loop devices.  Everything it sets up is torn down
# on exit, whether the test passes or fails.
#
#   loop_require                    skip unless loop devices and mounts work
#   loop_tmpfs DIR SIZE             mount a tmpfs of SIZE on DIR
#   loop_mount_ext4 BACKING MNT [OPTS]  mke2fs BACKING, attach it, mount it
#                                   on MNT (with mount -o OPTS)

LOOP_DEVS=() LOOP_MOUNTS=()

loop_cleanup() {
	local i
	for ((i = ${#LOOP_MOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${LOOP_MOUNTS[i]}" 2>/dev/null ||
			umount -l "${LOOP_MOUNTS[i]}" 2>/dev/null
	done
	for i in "${LOOP_DEVS[@]}"; do
		losetup -d "$i" 2>/dev/null
	done
	LOOP_MOUNTS=() LOOP_DEVS=()
}
trap loop_cleanup EXIT

loop_require() {
	[ "$(id -u)" = 0 ] || skip "needs root to attach loop devices and mount"
	require_tool losetup mount umount mountpoint
	[ -e /dev/loop-control ] || modprobe loop 2>/dev/null
	losetup -f >/dev/null 2>&1 || skip "this machine has no loop device"
}

loop_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o size="$2" tmpfs "$1" || fail "cannot mount a tmpfs on $1"
	LOOP_MOUNTS+=("$1")
}

loop_mount_ext4() {
	local backing=$1 mnt=$2 opts=${3:+-o $3} dev
	mke2fs -q -F -t ext4 -J size=4 -U "$TEST_UUID" \
		-E "hash_seed=$TEST_HASH_SEED" "$backing" ||
		fail "mke2fs $backing failed"
	dev=$(losetup -f --show "$backing") || fail "losetup $backing failed"
	LOOP_DEVS+=("$dev")
	mkdir -p "$mnt"
	# shellcheck disable=SC2086
	mount -t ext4 $opts "$dev" "$mnt" || fail "cannot mount $dev on $mnt"
	LOOP_MOUNTS+=("$mnt")
	echo "+ ext4 on $dev (over $backing) mounted on $mnt"
}
