# htree_lib.sh --- what the s_htree tests share (source it after
# test_lib.sh; the caller sets status=0 and defines check()).

# absent IMAGE LIST WHAT: no line of LIST occurs in IMAGE's bytes.
absent() {
	local found
	found=$(grep -z -a -o -F -f "$2" "$1" | tr '\0' '\n' | sort -u | head -3)
	if [ -n "$found" ]; then
		echo "MISMATCH: $3 found in $1: $found"
		return 1
	fi
	echo "ok: none of $(wc -l <"$2") $3 in $1"
}

# entries IMAGE INO: "INODE NAME" for each entry of directory INO.
entries() {
	debugfs -R "ls -p <$2>" "$1" 2>/dev/null |
		awk -F/ 'NF >= 7 && $6 != "" && $6 != "." && $6 != ".." { print $2, $6 }'
}

# names IMAGE INO: the names of directory INO, one a line, not . and ..
names() {
	debugfs -R "ls -p <$2>" "$1" 2>/dev/null |
		awk -F/ 'NF >= 7 && $6 != "" && $6 != "." && $6 != ".." { print $6 }'
}

ino_of() {
	debugfs -R "stat $2" "$1" 2>/dev/null | awk '/^Inode:/ { print $2; exit }'
}

# scramble NAME [full]: -s of NAME.img to NAME.raw, judged by e2fsck.  With
# full: through -Q and qemu-img convert, with the unscrambled
# NAME.plain.raw beside it, --scramble-map NAME.map, and a second run that
# must give the same bytes.
scramble() {
	local name=$1 rc
	if [ "$2" != full ]; then
		E2QCOW_SCRAMBLE_STATS=1 "$E2QCOW" -s -r "$name.img" "$name.raw" 2>err.txt
		rc=$?
		cat err.txt
		[ $rc = 0 ] || { echo "MISMATCH: e2qcow -s exited $rc"; status=1; return 1; }
		check fsck_clean "$name.img" "$name without -s"
		check fsck_clean "$name.raw" "$name with -s"
		return 0
	fi
	E2QCOW_SCRAMBLE_STATS=1 "$E2QCOW" -s --scramble-map "$name.map" \
		-Q "$name.img" "$name.qcow2" 2>err.txt
	rc=$?
	cat err.txt
	[ $rc = 0 ] || { echo "MISMATCH: e2qcow -s exited $rc"; status=1; return 1; }
	check qemu_check "$name.qcow2"
	run qemu-img convert -f qcow2 -O raw "$name.qcow2" "$name.raw"
	run "$E2QCOW" -r "$name.img" "$name.plain.raw"
	check fsck_clean "$name.plain.raw" "$name without -s"
	check fsck_clean "$name.raw" "$name with -s"
	"$E2QCOW" -s -Q "$name.img" again.qcow2 2>/dev/null
	if cmp -s "$name.qcow2" again.qcow2; then
		echo "ok: -s is deterministic on $name"
	else
		echo "MISMATCH: two runs of -s differ on $name"
		status=1
	fi
	rm -f again.qcow2
}

# same_tree NAME DIR...: htree_check.py on each directory (by inode).
same_tree() {
	local name=$1 d ino levels
	shift
	for d in "$@"; do
		ino=$(ino_of "$name.img" "$d")
		debugfs -R "htree_dump <$ino>" "$name.img" >a.dump 2>/dev/null
		debugfs -R "htree_dump <$ino>" "$name.raw" >b.dump 2>/dev/null
		levels=$(sed -n 's/^[[:space:]]*Indirect levels: //p' a.dump)
		echo "$name $d (inode $ino): htree of $((levels + 1)) level(s)"
		check python3 "$SRCDIR/htree_check.py" a.dump b.dump
	done
}

# mounted_find NAME: the kernel resolves every name of the -s image.
mounted_find() {
	local name=$1 img t0 t1 ta tb n
	if [ "$(id -u)" != 0 ] || ! mkdir -p mnt ||
	   ! mount -t ext4 -o ro,loop,noload "$name.plain.raw" mnt 2>/dev/null; then
		echo "skipped: cannot loop-mount here (the kernel check needs root and loop devices)"
		return 0
	fi
	for img in plain.raw raw; do
		mountpoint -q mnt || mount -t ext4 -o ro,loop,noload "$name.$img" mnt ||
			{ echo "MISMATCH: cannot mount $name.$img"; status=1; return; }
		t0=$(date +%s%N)
		(cd mnt && find . -printf '%s\n' >../find.$img.out 2>../find.$img.err)
		n=$?
		t1=$(date +%s%N)
		umount mnt
		[ $n = 0 ] && ! [ -s find.$img.err ] ||
			{ echo "MISMATCH: find on $name.$img: $(head -3 find.$img.err)"; status=1; }
		[ "$img" = raw ] && tb=$(((t1 - t0) / 1000000)) || ta=$(((t1 - t0) / 1000000))
	done
	if [ "$(wc -l <find.plain.raw.out)" != "$(wc -l <find.raw.out)" ]; then
		echo "MISMATCH: find lists $(wc -l <find.raw.out) names on $name.raw, $(wc -l <find.plain.raw.out) on the source"
		status=1
	elif [ "$tb" -gt $((10 * ta + 3000)) ]; then
		echo "MISMATCH: find took $tb ms on $name.raw, $ta ms on the source"
		status=1
	else
		echo "ok: mounted read-only, find lists $(wc -l <find.raw.out) names in $tb ms ($ta ms on the source)"
	fi
}

