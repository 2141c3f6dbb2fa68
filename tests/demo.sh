#!/bin/sh
# demo.sh --- what `make demo` shows: e2qcow exports an ext4 filesystem's
# metadata as a small qcow2 image and converts it back.
#
# Usage: sh tests/demo.sh PATH_TO_E2QCOW
# Builds a sample ext4 filesystem from a directory with mke2fs -d in a
# temporary folder, exports it with -Q, prints the image's size next to
# the filesystem's, converts it back with -r, and shows e2fsck -fn clean
# on the result and qemu-img check clean on the image.  Exits nonzero if
# any step fails; removes the temporary folder.

set -e
e2qcow=${1:?usage: sh tests/demo.sh PATH_TO_E2QCOW}
case $e2qcow in /*) ;; *) e2qcow=$(pwd)/$e2qcow ;; esac
[ -x "$e2qcow" ] || { echo "demo: $e2qcow is not an executable" >&2; exit 1; }
for tool in mke2fs e2fsck qemu-img; do
	command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/sbin:/usr/sbin
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "demo: $tool is not installed" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/e2qcow-demo.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

step() {
	echo
	echo "\$ $*"
	"$@"
}

size_of() {
	stat -c %s "$1" | awk '{ printf "%.1f MiB", $1 / 1048576 }'
}

# A small tree: some directories, text files, a larger file, a symlink.
mkdir -p tree/etc tree/docs tree/data
i=1
while [ $i -le 50 ]; do
	echo "configuration file $i" >tree/etc/file$i.conf
	i=$((i + 1))
done
for d in a b c d e; do
	mkdir -p tree/docs/$d
	yes "demo text for $d" | head -c 20000 >tree/docs/$d/readme.txt
done
yes "0123456789abcdef" | head -c 8388608 >tree/data/blob
ln -s ../etc/file1.conf tree/docs/link

export E2FSPROGS_FAKE_TIME=1700000000
step mke2fs -q -F -t ext4 -b 4096 -U 6b33f586-a183-4383-921d-30da3fef2e1c \
	-E hash_seed=7f6e3cfb-3d1f-4c43-8cbd-fd2bf7d6b2e5 -d tree demo.ext4 128M
step "$e2qcow" -Q demo.ext4 demo.qcow2
echo
echo "filesystem demo.ext4: $(size_of demo.ext4) ($(du -k demo.ext4 | cut -f1) KiB allocated)"
echo "qcow2 image demo.qcow2: $(size_of demo.qcow2) (metadata only)"
step qemu-img check demo.qcow2
step "$e2qcow" -r demo.qcow2 restored.raw
step e2fsck -fn restored.raw
echo
echo "demo: all steps succeeded"
