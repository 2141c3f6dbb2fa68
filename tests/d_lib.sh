# d_lib.sh --- damaged filesystems for the d_* tests, d_generate.sh and
# d_fuzz.sh (source it after test_lib.sh).
#
# Two small pristine bases are built: base4.img (ext4, 1 KiB blocks,
# metadata_csum, extent trees of depth 1, an htree directory, a journal) and
# base2.img (ext2, 1 KiB blocks, indirect trees up to triple-indirect), both
# with four groups of 2048 blocks (backup superblocks at 2049 and 6145).
# damage_fs N OUT makes corrupted filesystem number N (0 <= N < 200, or any
# N for byte flips) from them, deterministically, and prints what it did:
# numbers below D_TARGETED are targeted corruptions (debugfs -w
# set_inode_field / set_bg / set_super_value, shared tree blocks, zeroed or
# truncated areas), the others XOR random bytes of metadata blocks.
# check_damaged IMAGE [OPTIONS] runs e2qcow -Q on it and judges the result.

D_TARGETED=32
D_TIMEOUT=${D_TIMEOUT:-30}

build_damage_bases() {
	FS_TYPE=ext4 FS_BS=1024 FS_SIZE=8M FS_FEATURES=metadata_csum FS_PUNCH=60 \
		FS_MKFS_OPTS="-g 2048" \
		build_fs base4.img >/dev/null
	FS_TYPE=ext2 FS_BS=1024 FS_SIZE=8M FS_PUNCH=60 FS_MKFS_OPTS="-g 2048" \
		build_fs base2.img >/dev/null
	e2image -r base4.img base4.ref || fail "e2image -r base4.img"
	e2image -r base2.img base2.ref || fail "e2image -r base2.img"
	[ -s base4.ref ] && [ -s base2.ref ] || fail "the damage bases were not built"
}

# tree_block IMAGE PATH TAG: the block debugfs lists as (TAG) for PATH.
tree_block() {
	debugfs -R "stat $2" "$1" 2>/dev/null | tr ',' '\n' |
		sed -n "s/^ *($3):\([0-9]*\).*/\1/p" | head -1
}

# first_block IMAGE PATH: the first data block of PATH.
first_block() {
	debugfs -R "blocks $2" "$1" 2>/dev/null | awk '{print $1}'
}

# inode_location IMAGE PATH: "BLOCK OFFSET" of PATH's inode.
inode_location() {
	debugfs -R "imap $2" "$1" 2>/dev/null |
		sed -n 's/.*located at block \([0-9]*\), offset \(0x[0-9a-f]*\).*/\1 \2/p'
}

dfs() {	# dfs IMAGE CMD...: debugfs -w, quietly
	local image=$1
	shift
	printf '%s\n' "$@" | debugfs -w -f - "$image" >/dev/null 2>&1
}

# targeted N OUT: targeted corruption number N of a copy already in OUT.
# Sets D_OPTS to options e2qcow needs (a backup superblock).
targeted() {
	local n=$1 out=$2 b
	case $n in
	0) echo "ext4 /big: extent index points past the end"
	   dfs "$out" "set_inode_field /big block[4] 0xfffffff" ;;
	1) echo "ext4 /big: four root index entries share one child (a loop)"
	   read -r b o < <(inode_location "$out" /big)
	   "$SRCDIR/d_mutate.py" share-root "$out" "$b" "$o" ;;
	2) echo "ext4 /big: extent header magic zeroed"
	   dfs "$out" "set_inode_field /big block[0] 0" ;;
	3) echo "ext4 /big: extent tree depth 9"
	   dfs "$out" "set_inode_field /big block[1] 0x00090004" ;;
	4) echo "ext4 /bigdir: directory extent starts past the end"
	   dfs "$out" "set_inode_field /bigdir block[5] 0xfffff00" ;;
	5) echo "ext4 group 1: inode table past the end"
	   dfs "$out" "set_bg 1 inode_table 0xfffffff0" ;;
	6) echo "ext4 group 0: inode table on the superblock"
	   dfs "$out" "set_bg 0 inode_table 1" ;;
	7) echo "ext4 group 2: bitmaps past the end and at 0"
	   dfs "$out" "set_bg 2 block_bitmap 0xffffff00" "set_bg 2 inode_bitmap 0" ;;
	8) echo "ext4 group 1: bad descriptor checksum"
	   dfs "$out" "set_bg 1 checksum 0" ;;
	9) echo "ext4 /dir1: bad inode checksum"
	   dfs "$out" "set_inode_field /dir1 checksum 0" ;;
	10) echo "ext4: bad superblock checksum"
	   dfs "$out" "set_super_value checksum 0" ;;
	11) echo "ext4: primary superblock zeroed (opened with -b 2049)"
	   "$SRCDIR/d_mutate.py" zero "$out" 1024 1024 >/dev/null
	   D_OPTS="-b 2049" ;;
	12) echo "ext4 /: directory block garbled"
	   b=$(first_block "$out" /)
	   dd if=/dev/urandom bs=1 count=0 status=none
	   printf '\377%.0s' $(seq 1 200) |
		dd of="$out" bs=1 seek=$((b * 1024 + 20)) conv=notrunc status=none ;;
	13) echo "ext4 /dir1/file3: xattr block past the end"
	   dfs "$out" "set_inode_field /dir1/file3 file_acl 0xfffffff0" ;;
	14) echo "ext4 journal: extent past the end"
	   dfs "$out" "set_inode_field <8> block[5] 0xffffff0" ;;
	15) echo "ext4: superblock claims 1M blocks on an 8 MiB device"
	   dfs "$out" "set_super_value blocks_count 0x100000" ;;
	16) echo "ext4: device truncated to 5 MiB"
	   truncate -s 5M "$out" ;;
	17) echo "ext4 /long_link: slow symlink extent at block 0"
	   dfs "$out" "set_inode_field /long_link block[5] 0" ;;
	18) echo "ext2 /far: every TIND entry is the same DIND (a loop)"
	   "$SRCDIR/d_mutate.py" share-ind "$out" 1024 "$(tree_block "$out" /far TIND)" ;;
	19) echo "ext2 /far: TIND points past the end"
	   dfs "$out" "set_inode_field /far block[TIND] 0xfffffff0" ;;
	20) echo "ext2 /dir1: directory block past the end"
	   dfs "$out" "set_inode_field /dir1 block[0] 9999999" ;;
	21) echo "ext2 /big: IND is its own DIND (a tree block used twice)"
	   dfs "$out" "set_inode_field /big block[IND] $(tree_block "$out" /big DIND)" ;;
	22) echo "ext2 group 0: no inode table"
	   dfs "$out" "set_bg 0 inode_table 0" ;;
	23) echo "ext2: inodes_per_group 0"
	   dfs "$out" "set_super_value inodes_per_group 0" ;;
	24) echo "ext2 resize inode: DIND past the end"
	   dfs "$out" "set_inode_field <7> block[DIND] 0xfffffff0" ;;
	25) echo "ext2 /big: DIND whose entries all name one IND"
	   "$SRCDIR/d_mutate.py" share-ind "$out" 1024 "$(tree_block "$out" /big DIND)" ;;
	26) echo "ext4 /big: extent flag cleared (extent root read as block numbers)"
	   dfs "$out" "set_inode_field /big flags 0" ;;
	27) echo "ext4 /dir2: directory turned into a symlink"
	   dfs "$out" "set_inode_field /dir2 mode 0120777" ;;
	28) echo "ext2 /dir1: extent flag set on an indirect directory"
	   dfs "$out" "set_inode_field /dir1 flags 0x80000" ;;
	29) echo "ext4 group 3: inode table overlaps group 2's"
	   dfs "$out" "set_bg 3 inode_table $(dumpe2fs "$out" 2>/dev/null |
		sed -n 's/.*Inode table at \([0-9]*\)-.*/\1/p' | sed -n 3p)" ;;
	30) echo "ext2: superblock zeroed, backup superblock and block size guessed (-b 2049)"
	   "$SRCDIR/d_mutate.py" zero "$out" 1024 1024 >/dev/null
	   D_OPTS="-b 2049" ;;
	31) echo "ext4: group descriptor block zeroed"
	   "$SRCDIR/d_mutate.py" zero "$out" 2048 1024 >/dev/null ;;
	esac
}

# damage_fs N OUT: corrupted filesystem number N; sets D_OPTS.
damage_fs() {
	local n=$1 out=$2 base
	D_OPTS=
	if [ "$n" -lt "$D_TARGETED" ]; then
		case $n in
		18|19|20|21|22|23|24|25|28|30) base=base2 ;;
		*) base=base4 ;;
		esac
		cp "$base.img" "$out"
		echo "#$n: $(targeted "$n" "$out" | tr '\n' ' ')"
		# D_OPTS is set in a subshell above: set it here again
		case $n in 11|30) D_OPTS="-b 2049" ;; esac
		return
	fi
	base=$([ $((n % 2)) = 0 ] && echo base4 || echo base2)
	cp "$base.img" "$out"
	echo "#$n: $base, $((1 + n % 24)) random bytes flipped in metadata blocks (seed $n)"
	if [ -n "$D_FLIP_PLAN" ]; then
		apply_flip_plan "$n" "$out"
	else
		"$SRCDIR/d_mutate.py" flip "$out" "$base.ref" "$n" $((1 + n % 24)) >"$out.flips"
	fi
}

# make_flip_plan FILE FIRST LAST: the bytes damage_fs FIRST..LAST flip,
# computed by one python process; with D_FLIP_PLAN=FILE, damage_fs then
# writes them with dd (the same filesystems, without a python start each).
make_flip_plan() {
	"$SRCDIR/d_mutate.py" flip-plan base4.img base4.ref base2.img base2.ref \
		"$2" "$3" >"$1"
}

apply_flip_plan() {
	perl -e 'my ($n, $img, $plan) = @ARGV;
		open(my $p, "<", $plan) or die "$plan: $!";
		open(my $f, "+<", $img) or die "$img: $!";
		binmode $f;
		while (<$p>) {
			my ($m, $off, $v) = split;
			next unless $m == $n;
			seek($f, $off, 0) or die; print $f chr($v);
		}
		close($f) or die "$img: $!";' "$1" "$2" "$D_FLIP_PLAN"
}

# check_damaged IMAGE: e2qcow -Q on a damaged filesystem must exit 0, 2
# (unopenable), or 5 with one line per problem naming an inode or group
# (or the backup superblock used in place of an unusable primary, as e2fsck
# does); an image it writes must pass qemu-img check.  It must not crash
# nor hang.
check_damaged() {
	local image=$1 rc lines
	rm -f out.qcow2
	# shellcheck disable=SC2086
	timeout "$D_TIMEOUT" "$E2QCOW" $D_OPTS -Q "$image" out.qcow2 2>err.txt
	rc=$?
	lines=$(wc -l <err.txt)
	case $rc in
	0|5)	if [ $rc = 5 ] && grep -v -E 'in (inode|group) [0-9]+ of|: using the backup superblock [0-9]+ \(' err.txt | grep -q .; then
			echo "  MISMATCH: a warning names neither inode nor group:"
			head -5 err.txt
			return 1
		fi
		if ! qemu-img check out.qcow2 >qemu.txt 2>&1; then
			echo "  MISMATCH: exit $rc but qemu-img check fails:"
			cat qemu.txt
			return 1
		fi
		echo "  ok: exit $rc, $lines warnings, qemu-img check clean" ;;
	2)	if [ -e out.qcow2 ]; then
			echo "  MISMATCH: exit 2 left out.qcow2 behind"
			return 1
		fi
		echo "  ok: exit 2 (not openable): $(head -1 err.txt)" ;;
	124)	echo "  MISMATCH: e2qcow hung (killed after ${D_TIMEOUT}s)"
		return 1 ;;
	*)	echo "  MISMATCH: e2qcow exited $rc:"
		head -20 err.txt
		return 1 ;;
	esac
}

# ---- filesystems on which e2fsck reads what a walk of the metadata may
# leave out (issue 13); the d_e2fsck_same test compares e2fsck -fn on each
# with e2fsck -fn on its image.  cause_fs NAME OUT makes filesystem NAME
# (one of D_CAUSES) from base2/base4 (and ea.img for the ea_inode one) and
# prints what it did.

D_CAUSES="fifo_dirblock chardev_dirblock socket_extent badblocks_ind
ind_as_dind extent_leaf_depth journal_backup unused_tail_ref bad_csum_uninit
root_unlinked lost_found_unlinked backup_descriptors ea_inode_value
htree_flag_file"

# free_block IMAGE [GOAL]: a free block from GOAL on.
free_block() {
	debugfs -R "ffb 1 ${2:-3000}" "$1" 2>/dev/null | awk '{print $NF}'
}

# inode_of IMAGE PATH
inode_of() {
	debugfs -R "stat $2" "$1" 2>/dev/null | sed -n 's/^Inode: \([0-9]*\).*/\1/p'
}

build_ea_base() {
	local v
	mke2fs -q -F -t ext4 -b 1024 -O ea_inode,^has_journal -U "$TEST_UUID" \
		-E "hash_seed=$TEST_HASH_SEED" ea.img 2M || return 1
	v=$(printf 'value%.0s' $(seq 1 200))
	printf '%s' "$v" >ea.value
	dfs ea.img "write /dev/null f" "ea_set -f ea.value f user.big"
	rm -f ea.value
}

cause_fs() {
	local name=$1 out=$2 b o fb fo ino g
	case $name in
	fifo_dirblock)
		cp base2.img "$out"
		dfs "$out" "cd /" "mknod pipe p"
		ino=$(inode_of "$out" /pipe) b=$(free_block "$out")
		"$SRCDIR/d_mutate.py" dirblock "$out" 1024 "$b" "$ino" 2 >/dev/null
		dfs "$out" "sif /pipe block[0] $b"
		echo "ext2 /pipe (a FIFO, inode $ino): i_block[0] = free block $b, which looks like its directory block" ;;
	chardev_dirblock)
		cp base2.img "$out"
		dfs "$out" "cd /" "mknod cdev c 1 3" "ln /cdev /cdev2" "sif /cdev links_count 2"
		ino=$(inode_of "$out" /cdev) b=$(free_block "$out")
		"$SRCDIR/d_mutate.py" dirblock "$out" 1024 "$b" "$ino" 2 >/dev/null
		dfs "$out" "sif /cdev block[0] $b"
		echo "ext2 /cdev (a character device with 2 links, inode $ino): i_block[0] = free block $b, a directory block" ;;
	socket_extent)
		cp base4.img "$out"
		ino=$(inode_of "$out" /dir1/file1)
		dfs "$out" "sif /dir1/file1 mode 0140644"
		b=$(first_block "$out" /dir1/file1)
		"$SRCDIR/d_mutate.py" dirblock "$out" 1024 "$b" "$ino" 2 >/dev/null
		echo "ext4 /dir1/file1 (inode $ino) made a socket; its extent-mapped block $b looks like a directory block" ;;
	badblocks_ind)
		cp base2.img "$out"
		b=$(free_block "$out")
		g=$(dumpe2fs "$out" 2>/dev/null | sed -n 's/.*Inode table at \([0-9]*\)-.*/\1/p' | head -1)
		"$SRCDIR/d_mutate.py" words "$out" 1024 "$b" $((g + 20)) $((g + 21)) 5000 >/dev/null
		dfs "$out" "sif <1> block[IND] $b" "sif <1> size 14336" "sif <1> blocks 8"
		echo "ext2 bad-blocks inode: IND block $b lists inode table blocks $((g + 20)), $((g + 21)) and block 5000" ;;
	ind_as_dind)
		cp base2.img "$out"
		b=$(tree_block "$out" /far DIND)
		g=$(first_block "$out" /big)
		"$SRCDIR/d_mutate.py" words "$out" 1024 "$b" 0xfffffff0 0xfffffff1 0xfffffff2 \
			0xfffffff3 0xfffffff4 0xfffffff5 0xfffffff6 0xfffffff7 0xfffffff8 \
			0xfffffff9 0xfffffffa 0xfffffffb 0xfffffffc "$g" $((g + 2)) >/dev/null
		echo "ext2 /far: DIND $b holds 13 illegal block numbers, then data blocks $g and $((g + 2)) of /big (read as IND blocks)" ;;
	extent_leaf_depth)
		cp base4.img "$out"
		b=$(debugfs -R "ex /bigdir" "$out" 2>/dev/null | awk '$1 == "0/" {print $8; exit}')
		"$SRCDIR/d_mutate.py" le16 "$out" $((b * 1024 + 6)) 1 >/dev/null
		echo "ext4 /bigdir: its extent leaf $b claims depth 1 (libext2fs goes by the root's depth)" ;;
	journal_backup)
		cp base2.img "$out"
		tune2fs -O has_journal -J size=1 "$out" >/dev/null 2>&1
		dfs "$out" "sif <8> mode 0"
		echo "ext3 (base2 with a journal): the journal inode's mode is 0; e2fsck finds the journal through s_jnl_blocks" ;;
	unused_tail_ref)
		cp base4.img "$out"
		g=$(dumpe2fs "$out" 2>/dev/null | sed -n '/^Group 1:/,/^Group 2:/s/.*, \([0-9]*\) unused inodes.*/\1/p')
		b=$(dumpe2fs -h "$out" 2>/dev/null | sed -n 's/^Inodes per group: *//p')
		ino=$((2 * b - g + 1))
		read -r b o < <(inode_location "$out" "<$ino>")
		read -r fb fo < <(inode_location "$out" /dir1/file1)
		dfs "$out" "link <$ino> /dir2/stale"
		dd if="$out" of="$out" bs=256 count=1 conv=notrunc status=none \
			skip=$(( (fb * 1024 + fo) / 256 )) seek=$(( (b * 1024 + o) / 256 ))
		echo "ext4 /dir2/stale: an entry to inode $ino, in group 1's unused inode table tail (block $b), which holds a copy of /dir1/file1" ;;
	bad_csum_uninit)
		cp base4.img "$out"
		dfs "$out" "set_bg 2 flags 7" "set_bg 2 checksum 0"
		echo "ext4 group 2: flagged BLOCK_UNINIT and INODE_UNINIT, with a wrong descriptor checksum" ;;
	root_unlinked)
		cp base4.img "$out"
		dfs "$out" "sif <2> links_count 0"
		echo "ext4: the root directory has no links" ;;
	lost_found_unlinked)
		cp base4.img "$out"
		dfs "$out" "sif /lost+found links_count 0"
		echo "ext4: /lost+found has no links" ;;
	backup_descriptors)
		cp base2.img "$out"
		dfs "$out" "set_bg 1 inode_bitmap 0"
		echo "ext2 group 1: inode bitmap at block 0 (e2fsck retries with the backup descriptors)" ;;
	htree_flag_file)
		cp base4.img "$out"
		dfs "$out" "sif /dir1/file1 flags 0x81000"
		echo "ext4 /dir1/file1: a regular file with the htree flag (e2fsck reads its block 0 as an htree root)" ;;
	ea_inode_value)
		cp ea.img "$out"
		echo "ext4 with ea_inode: /f has a 1000-byte value in an EA inode" ;;
	esac
}

# fsck_filter IMAGE: e2fsck's output with the image's name replaced.
fsck_filter() {
	e2fsck -fn "$1" 2>&1 | sed -e "s#$1#IMAGE#g"
}

# fsck_same ID: makes filesystem ID (a number of damage_fs, or a name of
# cause_fs) in the current folder, and prints one line
#   RESULT ID LABEL VERDICT
# LABEL: targeted, flips or the cause's name; VERDICT: identical (e2fsck
# -fn prints the same on the original and on the image restored from
# e2qcow -Q), differing, unreproducible (two e2fsck runs on the original
# disagree) or refused (e2qcow -Q wrote no image; its exit code in
# parentheses).  A differing one leaves ID.fsckdiff behind.
fsck_same() {
	local id=$1 img=$1.img label rc
	D_OPTS=
	case $id in
	[0-9]*)	damage_fs "$((10#$id))" "$img" >/dev/null
		case $((10#$id)) in 11|30) D_OPTS="-b 2049" ;; esac
		label=flips
		[ "$((10#$id))" -lt "$D_TARGETED" ] && label=targeted ;;
	*)	cause_fs "$id" "$img" >/dev/null
		label=$id ;;
	esac
	fsck_filter "$img" >"$id.o1"
	fsck_filter "$img" >"$id.o2"
	# shellcheck disable=SC2086
	timeout "$D_TIMEOUT" "$E2QCOW" $D_OPTS -Q "$img" "$id.qcow2" 2>/dev/null
	rc=$?
	if ! [ -f "$id.qcow2" ]; then
		echo "RESULT $id $label refused($rc)"
	elif ! "$E2QCOW" -r "$id.qcow2" "$id.raw" 2>/dev/null; then
		echo "RESULT $id $label refused(-r)"
	else
		fsck_filter "$id.raw" >"$id.r"
		if ! cmp -s "$id.o1" "$id.o2"; then
			echo "RESULT $id $label unreproducible"
		elif cmp -s "$id.o1" "$id.r"; then
			echo "RESULT $id $label identical"
		else
			echo "RESULT $id $label differing"
			diff "$id.o1" "$id.r" | head -20 >"$id.fsckdiff"
		fi
	fi
	rm -f "$img" "$img.flips" "$id.qcow2" "$id.raw" "$id.o1" "$id.o2" "$id.r"
}
