# test_lib.sh --- helpers shared by the test scripts (source it from bash).
#
# Every test runs in a fresh empty folder (the current directory) with
# E2QCOW, SRCDIR, BUILDDIR and TESTNAME set by tests/test_one.sh.
#
# Filesystem builders are deterministic: a pinned mke2fs.conf, a fixed UUID
# and hash seed, E2FSPROGS_FAKE_TIME, and a source tree whose contents and
# modification times are fixed.  (The inode change times that mke2fs -d copies
# from the tree cannot be set from user space; no test compares two
# filesystems built in separate runs, so this does not matter.)
#
# Helpers print what they compare, so a test's log tells what was checked.

# Fixed identities and times.
TEST_UUID=6b33f586-a183-4383-921d-30da3fef2e1c
TEST_HASH_SEED=7f6e3cfb-3d1f-4c43-8cbd-fd2bf7d6b2e5
TEST_TIME=1700000000		# 2023-11-14 22:13:20 UTC
export E2FSPROGS_FAKE_TIME=$TEST_TIME
# the capture time e2qcow -Q stores in its images' report
export SOURCE_DATE_EPOCH=$TEST_TIME
export TZ=UTC LC_ALL=C
export MKE2FS_CONFIG="$PWD/mke2fs.conf"
export E2FSCK_CONFIG=/dev/null

# Never let a tool wait for an answer.
exec </dev/null

# The e2fsprogs 1.47.0 defaults, pinned so that a changed /etc/mke2fs.conf
# cannot change the filesystems the tests build.
write_mke2fs_conf() {
	cat >"$MKE2FS_CONFIG" <<'EOF'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext3 = {
		features = has_journal
	}
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		inode_ratio = 4096
	}
	floppy = {
		inode_ratio = 8192
	}
EOF
}
write_mke2fs_conf

fail() {
	echo "FAIL: $*"
	exit 1
}

skip() {
	echo "SKIP: $*"
	exit 77
}

# require_tool NAME...: skip the test when a tool is missing.
require_tool() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
	done
}

# require_e2qcow: the binary under test must exist (a missing binary is a
# failure, never a skip: make check must not pass without it).
require_e2qcow() {
	[ -n "$E2QCOW" ] || fail "E2QCOW is not set"
	[ -x "$E2QCOW" ] || fail "$E2QCOW has not been built"
}

# run CMD...: log a command, run it, fail the test if it fails.
run() {
	echo "+ $*"
	"$@" || fail "exit $? from: $*"
}

# ---------------------------------------------------------------------------
# Source tree

# fill_file PATH BYTES SEED: a file of BYTES deterministic, non-zero bytes.
fill_file() {
	local path=$1 bytes=$2 seed=$3
	yes "$seed $path 0123456789abcdefghijklmnopqrstuvwxyz" | head -c "$bytes" >"$path"
}

# make_source_tree DIR: the tree that mke2fs -d copies into every test
# filesystem: nested directories with small files, a directory of 400
# names (htree once indexed), short (fast) and long (slow) symlinks, hard
# links, a sparse file, a file of several MiB, an empty file and a fifo.
make_source_tree() {
	local dir=$1 i j
	mkdir -p "$dir"
	for i in 1 2 3 4 5 6; do
		mkdir -p "$dir/dir$i/sub$i"
		for j in 1 2 3 4 5; do
			fill_file "$dir/dir$i/file$j" $((i * 700 + j * 333)) "$i.$j"
		done
		fill_file "$dir/dir$i/sub$i/deep" $((i * 5000)) "deep$i"
	done
	mkdir "$dir/bigdir"
	for i in $(seq -w 1 400); do
		echo "$i" >"$dir/bigdir/entry_with_a_longish_name_$i"
	done
	ln -s dir1/file1 "$dir/short_link"
	ln -s "$(printf 'x/%.0s' $(seq 1 60))target_of_a_slow_symlink" \
		"$dir/long_link"
	ln "$dir/dir1/file1" "$dir/hardlink1"
	ln "$dir/dir1/file1" "$dir/dir2/hardlink2"
	# sparse: data at 0, 1 MiB and 3 MiB, holes between, 4 MiB long
	fill_file "$dir/sparse" 5000 sparse
	fill_file "$dir/.chunk" 7000 chunk
	dd if="$dir/.chunk" of="$dir/sparse" bs=1024 seek=1024 conv=notrunc status=none
	dd if="$dir/.chunk" of="$dir/sparse" bs=1024 seek=3072 conv=notrunc status=none
	truncate -s 4M "$dir/sparse"
	# far: one chunk at 80 MiB (triple-indirect on 1 KiB-block ext2)
	dd if="$dir/.chunk" of="$dir/far" bs=1024 seek=$((80 * 1024)) status=none
	rm "$dir/.chunk"
	fill_file "$dir/big" $((3 * 1024 * 1024)) big
	: >"$dir/empty"
	mkfifo "$dir/fifo"
	find "$dir" -exec touch -h -d "@$TEST_TIME" {} +
}

# ---------------------------------------------------------------------------
# Filesystem builders

# debugfs_w IMAGE CMDS: run debugfs commands read-write; fail on any error
# debugfs reports.
debugfs_w() {
	local image=$1 cmds=$2 out
	out=$(printf '%s\n' "$cmds" | debugfs -w -f - "$image" 2>&1) ||
		fail "debugfs failed on $image: $out"
	if printf '%s\n' "$out" | grep -v '^debugfs' | grep -qi -E 'error|not found|invalid|could not|cannot'; then
		fail "debugfs reported an error on $image: $out"
	fi
}

# The extras of build_fs, as debugfs commands for one debugfs -w run (each
# run reads the group descriptors: seconds on the terabyte filesystems).
# They read xattr.value, one.block and frag.data (write_extras_files).

# xattrs_cmds: a small in-inode attribute and a large one that needs an
# xattr block, on two files.
xattrs_cmds() {
	echo "ea_set /dir1/file2 user.small tiny
ea_set -f xattr.value /dir1/file3 user.large
ea_set -f xattr.value /dir2/file3 trusted.large"
}

# punch_alternate_cmds FILE START COUNT: punch every other block of FILE,
# COUNT blocks from block START, so that it maps many separate runs
# (extent files then need a tree of depth >= 1).
punch_alternate_cmds() {
	local file=$1 start=$2 count=$3 b
	for ((b = start; b < start + count; b += 2)); do
		echo "punch $file $b $b"
	done
}

# fragmented_file_cmds BLOCKS: a file written into free space made of
# one-block holes: /frag/filler.* files of one block each are written,
# every other one is removed, then /frag/fragmented (BLOCKS blocks, the
# size of frag.data) is written and lands in the holes.
fragmented_file_cmds() {
	local blocks=$1 i
	echo "mkdir /frag"
	for ((i = 0; i < 2 * blocks; i++)); do
		echo "write one.block /frag/filler.$i"
	done
	for ((i = 0; i < 2 * blocks; i += 2)); do
		echo "rm /frag/filler.$i"
	done
	echo "write frag.data /frag/fragmented"
}

# add_extras IMAGE BLOCK_SIZE: the xattrs, a fragmented file of 24 blocks
# and FS_PUNCH blocks of /big punched alternately, in one debugfs run.
add_extras() {
	local image=$1 bs=$2
	fill_file xattr.value 600 xattr
	fill_file one.block "$bs" filler
	fill_file frag.data $((bs * 24)) fragmented
	debugfs_w "$image" "$(xattrs_cmds)
$(fragmented_file_cmds 24)
$(punch_alternate_cmds /big 1 "$FS_PUNCH")"
	rm -f xattr.value one.block frag.data
}

# write_boot_block IMAGE: put a recognisable pattern in bytes 0..1023, the
# boot block that the superblock of every filesystem follows.  mke2fs
# zeroes it; a real disk may hold a boot loader there.
write_boot_block() {
	fill_file boot.block 1024 bootblock
	dd if=boot.block of="$1" bs=1024 count=1 conv=notrunc status=none
	rm -f boot.block
}

# build_fs IMAGE: build a test filesystem from these variables:
#   FS_TYPE      ext2, ext3 or ext4 (default ext4)
#   FS_BS        block size in bytes (default 4096)
#   FS_SIZE      size for mke2fs, e.g. 32M (default 64M)
#   FS_FEATURES  -O list, e.g. ^resize_inode,meta_bg (optional)
#   FS_MKFS_OPTS more mke2fs options, e.g. "-g 2048 -I 128" (optional)
#   FS_EXTENDED  more -E options, e.g. "num_backup_sb=1" (optional)
#   FS_NO_TREE   set to 1 for an empty filesystem
#   FS_NO_EXTRAS set to 1 to skip xattrs and the fragmented files
#   FS_PUNCH     blocks of /big to punch alternately (default 200)
#   FS_BIG       1: a filesystem of terabytes (see f_default_script)
#   FS_TUNE2FS   tune2fs options applied last, e.g. "-O mmp" (every
#                read-write open of an mmp filesystem sleeps 10 s, so mmp
#                is switched on after debugfs and e2fsck -D are done)
# Then add_extras: xattrs, a fragmented file and punched holes in /big; for 1 KiB
# blocks, a pattern in the boot block.
build_fs() {
	local image=$1 ext opts optimize
	: "${FS_TYPE:=ext4}" "${FS_BS:=4096}" "${FS_SIZE:=64M}" "${FS_PUNCH:=200}"
	ext="hash_seed=$TEST_HASH_SEED,lazy_itable_init=0,lazy_journal_init=0"
	[ -n "$FS_EXTENDED" ] && ext="$ext,$FS_EXTENDED"
	opts=(-q -F -t "$FS_TYPE" -b "$FS_BS" -U "$TEST_UUID" -E "$ext")
	[ -n "$FS_FEATURES" ] && opts+=(-O "$FS_FEATURES")
	if [ "$FS_NO_TREE" != 1 ]; then
		[ -d tree ] || make_source_tree tree
		opts+=(-d tree)
	fi
	# shellcheck disable=SC2206
	opts+=($FS_MKFS_OPTS)
	rm -f "$image"
	echo "+ mke2fs ${opts[*]} $image $FS_SIZE"
	mke2fs "${opts[@]}" "$image" "$FS_SIZE" 2>&1 | grep -v -i 'not usable on most systems' |
		grep -v -i '^Warning: blocksize'
	[ "${PIPESTATUS[0]}" = 0 ] || fail "mke2fs failed on $image"
	[ -s "$image" ] || fail "mke2fs did not create $image"
	dumpe2fs -h "$image" >/dev/null 2>&1 || fail "mke2fs failed on $image"
	if [ "$FS_NO_TREE" != 1 ] && [ "$FS_NO_EXTRAS" != 1 ]; then
		add_extras "$image" "$(fs_block_size "$image")"
	fi
	# Index the directories (mke2fs -d writes linear ones): e2fsck -D
	# builds the htree of /bigdir where dir_index is on.  It also brings
	# the quota files up to date after debugfs, but -D changes directory
	# sizes after the quota pass, so a second pass may be needed.
	optimize=
	dumpe2fs -h "$image" 2>/dev/null | grep -q 'features:.*dir_index' && optimize=-D
	# FS_BIG=1 (terabytes, no quota): seconds per pass, and one suffices
	if e2fsck -fy $optimize "$image" >e2fsck.build.log 2>&1; then
		:
	elif [ $? = 1 ] && [ "$FS_BIG" = 1 ]; then
		echo "e2fsck -fy $optimize: exit 1 (directories optimized)"
	else
		e2fsck -fy "$image" >>e2fsck.build.log 2>&1
		[ $? -le 1 ] || { cat e2fsck.build.log; fail "e2fsck -fy failed on $image"; }
	fi
	if [ -n "$FS_TUNE2FS" ]; then
		# shellcheck disable=SC2086
		run tune2fs $FS_TUNE2FS "$image" >/dev/null
	fi
	[ "$FS_BS" = 1024 ] && write_boot_block "$image"
	return 0
}

# fs_block_size IMAGE, fs_block_count IMAGE
fs_block_size() {
	dumpe2fs -h "$1" 2>/dev/null | awk '/^Block size:/ {print $3}'
}

# ---------------------------------------------------------------------------
# Oracles

# Files past this many bytes are compared and searched by their data
# ranges only (SEEK_DATA): cmp or grep would read terabytes of holes.
SPARSE_BYTES=$((4 << 30))

# byte_cmp A B: cmp, or bench/sparse_cmp (same verdict) for huge files.
byte_cmp() {
	if [ "$(stat -c %s "$1")" -gt $SPARSE_BYTES ] ||
	   [ "$(stat -c %s "$2")" -gt $SPARSE_BYTES ]; then
		python3 "$SRCDIR/../bench/sparse_cmp" "$1" "$2"
	else
		cmp "$1" "$2"
	fi
}

# has_string FILE STRING: FILE holds STRING (grep -a -F, or for huge files
# a search of its data ranges, holes read as zeros and hold no name).
#
# Searches of images use grep -z: the lines grep holds in memory then end
# at every zero byte, where without it all the zeros of an image (its holes)
# made one line of up to the image's size, copied into memory (0.5 s and
# 260 MB for 160 MiB).  A string without a zero byte is found all the same.
has_string() {
	if [ "$(stat -c %s "$1")" -le $SPARSE_BYTES ]; then
		grep -z -q -a -F -- "$2" "$1"
		return
	fi
	python3 - "$1" "$2" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size, want, pos = os.fstat(fd).st_size, sys.argv[2].encode(), 0
while pos < size:
    try:
        start = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError:
        break
    end = os.lseek(fd, start, os.SEEK_HOLE)
    # chunks overlap by the name's length; a name never spans a hole
    while start < end:
        n = min(64 << 20, end - start)
        if want in os.pread(fd, n + len(want), start)[:end - start]:
            sys.exit(0)
        start += n
    pos = end
sys.exit(1)
PYEOF
}

# same_bytes A B WHAT: require A and B to be byte-identical (and of the
# same length); show the first differing bytes otherwise.
same_bytes() {
	local a=$1 b=$2 what=$3
	if byte_cmp "$a" "$b" >cmp.out 2>&1; then
		echo "ok: $what ($a = $b, $(stat -c %s "$a") bytes)"
		return 0
	fi
	echo "MISMATCH: $what: $a differs from $b"
	cat cmp.out
	echo "sizes: $(stat -c %s "$a") $(stat -c %s "$b")"
	cmp -l "$a" "$b" 2>/dev/null | head -20 |
		awk -v bs="${FS_BS:-4096}" '{printf "  byte %d (block %d): %o vs %o\n", $1 - 1, ($1 - 1) / bs, $2, $3}'
	return 1
}

# same_qcow_but_report A B WHAT: two qcow2 images of e2qcow -Q that may
# differ only in their capture report (a header extension in the first
# cluster, which names the source and how it was given): the fixed
# 72-byte header and every byte after the first cluster are identical.
same_qcow_but_report() {
	local a=$1 b=$2 what=$3 cs
	cs=$((1 << $(od -An -j20 -N4 -tu4 --endian=big "$a" | tr -d ' ')))
	if cmp -s -n 72 "$a" "$b" && cmp -s -i "$cs" "$a" "$b"; then
		echo "ok: $what ($a = $b but for the capture report)"
		return 0
	fi
	echo "MISMATCH: $what: $a differs from $b beyond the capture report"
	cmp "$a" "$b"
	return 1
}

# same_bytes_but_last A B WHAT: as same_bytes, but B's last byte may be a
# zero where A has another value: e2image 1.47 -r of a qcow2 overwrites the
# last byte of its output with a zero when the last block is present.
same_bytes_but_last() {
	local a=$1 b=$2 what=$3 size
	same_bytes "$a" "$b" "$what" >/dev/null && { echo "ok: $what"; return 0; }
	size=$(stat -c %s "$a")
	[ "$size" = "$(stat -c %s "$b")" ] || { same_bytes "$a" "$b" "$what"; return 1; }
	if cmp -n $((size - 1)) "$a" "$b" >/dev/null &&
	   [ "$(tail -c 1 "$b" | od -An -tx1 | tr -d ' ')" = 00 ]; then
		echo "ok: $what (all but the last byte, which e2image zeroes: known e2image 1.47 bug)"
		return 0
	fi
	same_bytes "$a" "$b" "$what"
}

# qemu_check IMAGE: qemu-img check must exit 0: no leak, no corruption.
qemu_check() {
	local rc
	qemu-img check "$1" >qemu-check.out 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "MISMATCH: qemu-img check $1 exited $rc"
		cat qemu-check.out
		return 1
	fi
	echo "ok: qemu-img check $1 is clean"
}

# fsck_clean IMAGE: e2fsck -fn exit status (0 when clean); output logged
# to IMAGE.fsck.
fsck_status() {
	e2fsck -fn "$1" >"$1.fsck" 2>&1
	echo $?
}

# fsck_clean IMAGE WHAT: require e2fsck -fn to find nothing to fix.
fsck_clean() {
	local rc
	rc=$(fsck_status "$1")
	if [ "$rc" -ne 0 ]; then
		echo "MISMATCH: e2fsck -fn $1 ($2) exited $rc:"
		head -30 "$1.fsck"
		return 1
	fi
	echo "ok: e2fsck -fn $1 is clean ($2)"
}

# one_stderr_line FILE NAME: FILE holds exactly one line, which names NAME.
one_stderr_line() {
	local file=$1 name=$2 lines
	lines=$(wc -l <"$file")
	if [ "$lines" -ne 1 ]; then
		echo "MISMATCH: expected one line on stderr, got $lines:"
		cat "$file"
		return 1
	fi
	if ! grep -q -F -- "$name" "$file"; then
		echo "MISMATCH: stderr does not name $name: $(cat "$file")"
		return 1
	fi
	echo "ok: one line on stderr naming $name: $(cat "$file")"
}

# folder_state: names and checksums of every file under the current
# folder, to prove that a failed run left nothing behind and changed
# nothing.
folder_state() {
	find . ! -type f -print | sort
	find . -type f ! -name mke2fs.conf -print0 | sort -z | xargs -0 -r sha1sum
}

# expect_failure CODE NAME CMD...: CMD must exit with CODE, print exactly
# one line on stderr that names NAME, and leave the current folder as it
# was: no new file (no half-written output, no temporary), no changed file.
expect_failure() {
	local code=$1 name=$2 before after err rc ok=0
	shift 2
	echo "+ $* (expecting exit $code)"
	before=$(folder_state)
	err=$("$@" 2>&1 >/dev/null)
	rc=$?
	after=$(folder_state)
	if [ "$rc" -ne "$code" ]; then
		echo "MISMATCH: exit $rc, expected $code"
		ok=1
	else
		echo "ok: exit $rc"
	fi
	printf '%s' "$err" >stderr.txt
	[ -n "$err" ] && echo >>stderr.txt
	one_stderr_line stderr.txt "$name" || ok=1
	rm -f stderr.txt
	if [ "$before" != "$after" ]; then
		echo "MISMATCH: the folder changed:"
		diff <(echo "$before") <(echo "$after")
		ok=1
	else
		echo "ok: nothing created or changed in the folder"
	fi
	return $ok
}

# ---------------------------------------------------------------------------
# Verdicts of scripts that make many checks
#
# A script sets status=0, logs each check with ok or mismatch (or runs a
# helper that prints its own verdict, such as same_bytes, through checked),
# and ends with checks_done.

CHECKS_OK=0
CHECKS_MISMATCHED=0

# ok WHAT: a check that held.
ok() {
	CHECKS_OK=$((CHECKS_OK + 1))
	echo "ok: $*"
}

# mismatch WHAT: a check that did not hold; the test will fail.
mismatch() {
	CHECKS_MISMATCHED=$((CHECKS_MISMATCHED + 1))
	status=1
	echo "MISMATCH: $*"
}

# checked CMD...: run a helper that prints its own verdict and returns
# non-zero on a mismatch (same_bytes, qemu_check, fsck_clean...); count it.
checked() {
	if "$@"; then
		CHECKS_OK=$((CHECKS_OK + 1))
	else
		CHECKS_MISMATCHED=$((CHECKS_MISMATCHED + 1))
		status=1
	fi
}

# checks_done WHAT LEAST: print the counts and exit with the test's verdict;
# fewer than LEAST checks that held is a failure too (a loop that checked
# nothing must not pass).
checks_done() {
	echo "$1: $CHECKS_OK ok, $CHECKS_MISMATCHED mismatched"
	if [ "$CHECKS_OK" -lt "$2" ]; then
		echo "MISMATCH: only $CHECKS_OK checks held, at least $2 expected"
		status=1
	fi
	exit "${status:-1}"
}

# ---------------------------------------------------------------------------
# Test drivers of tests/progs, linked with this build's libraries

# build_test_prog OUTPUT SOURCE [FLAGS] LIBRARY.a...: compile
# tests/progs/SOURCE against the libraries of the build under test, with
# its sanitizer flags (which its libraries need) and its LIBS.  A library
# that has not been built, or a driver that does not compile, fails the test.
build_test_prog() {
	local out=$1 src=$2 top=$BUILDDIR/.. arg extra san
	shift 2
	for arg in "$@"; do
		case $arg in
		*.a) [ -f "$arg" ] || fail "$arg has not been built" ;;
		esac
	done
	extra=$(sed -n 's/^LIBS = //p' "$top/MCONFIG")
	san=$(sed -n 's/^SANITIZER_FLAGS = //p' "$top/MCONFIG")
	echo "+ ${CC:-cc} ${san:+$san }-o $out $src $*"
	# shellcheck disable=SC2086
	${CC:-cc} -O1 -g $san -D_GNU_SOURCE -I"$top" -I"$SRCDIR/.." \
		-I"$top/lib/support" -I"$SRCDIR/../lib" -o "$out" \
		"$SRCDIR/progs/$src" "$@" $extra ||
		fail "cannot build $out from tests/progs/$src"
}
