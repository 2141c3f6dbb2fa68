#!/bin/bash
# d_fuzz.sh --- fuzz-style driver: runs the metadata walk (e2qcow -n -ra,
# then -Q and -s -Q, each image through qemu-img check) on filesystem images
# mutated at random, and stops at the first crash, hang, or image that
# qemu-img rejects.
#
#   E2QCOW=/tmp/build/misc/e2qcow tests/d_fuzz.sh DIR [ITERATIONS [SEED]]
#
# Each iteration XORs 1 to 200 random bytes of the metadata blocks of one of
# the d_lib.sh bases (seed SEED + i, so a failure is replayed with
# d_mutate.py flip and the printed seed).  Build e2qcow with
# ./configure --enable-sanitizers to catch memory errors.
SRCDIR=$(cd "$(dirname "$0")" && pwd)
[ -n "$1" ] || { echo "usage: $0 DIR [ITERATIONS [SEED]]" >&2; exit 1; }
mkdir -p "$1" && cd "$1" || exit 1
iterations=${2:-1000} seed=${3:-$(date +%s)}
. "$SRCDIR/test_lib.sh"
. "$SRCDIR/d_lib.sh"
require_tool e2image qemu-img python3 timeout
require_e2qcow
[ -s base4.ref ] && [ -s base2.ref ] || build_damage_bases
for ((i = 0; i < iterations; i++)); do
	s=$((seed + i))
	base=$([ $((s % 2)) = 0 ] && echo base4 || echo base2)
	cp "$base.img" fuzz.img
	"$SRCDIR/d_mutate.py" flip fuzz.img "$base.ref" "$s" $((1 + s % 200)) >fuzz.flips
	timeout "$D_TIMEOUT" "$E2QCOW" -n -ra fuzz.img dry.raw >/dev/null 2>&1
	rc=$?
	case $rc in 0|2|5) ;; *)
		echo "seed $s ($base): e2qcow -n -ra exited $rc"; exit 1 ;;
	esac
	if ! verdict=$(check_damaged fuzz.img); then
		echo "seed $s ($base):$verdict"
		exit 1
	fi
	rm -f fuzz-s.qcow2
	timeout "$D_TIMEOUT" "$E2QCOW" -s -Q fuzz.img fuzz-s.qcow2 >/dev/null 2>&1
	rc=$?
	case $rc in 0|5) qemu-img check fuzz-s.qcow2 >/dev/null 2>&1 ||
			{ echo "seed $s ($base): qemu-img check fails on -s"; exit 1; } ;;
	2) ;;
	*) echo "seed $s ($base): e2qcow -s -Q exited $rc"; exit 1 ;;
	esac
	[ $((i % 50)) = 0 ] && echo "$i iterations, last seed $s:$verdict"
done
echo "$iterations iterations from seed $seed: no failure"
