#!/bin/bash
# test_one.sh --- run one test directory, e2fsprogs style.
#
# Usage: test_one.sh NAME   (from the tests build folder; make check calls it)
# Environment: SRCDIR (tests source folder), BUILDDIR (tests build folder),
# E2QCOW (binary under test), VALGRIND=1 to run E2QCOW under valgrind,
# TEST_TIMEOUT (seconds, default 300), KEEP_TMP=1 to keep passing tests'
# folders.
#
# Runs NAME/script with bash in a fresh empty folder under tmp/, with
# E2QCOW, SRCDIR, BUILDDIR and TESTNAME exported, output into NAME.log.
# Leaves NAME.ok, NAME.failed or NAME.skipped; prints one line.  Exits 0
# whatever the outcome: test_summary.sh counts the results.

name=${1%/}
: "${SRCDIR:?}" "${BUILDDIR:?}" "${E2QCOW:?}"
SRCDIR=$(cd "$SRCDIR" && pwd) || exit 1
BUILDDIR=$(cd "$BUILDDIR" && pwd) || exit 1
case $E2QCOW in /*) ;; *) E2QCOW=$PWD/$E2QCOW ;; esac
# mke2fs, e2fsck, e2image...: in /sbin and /usr/sbin, which an ordinary
# user's PATH lacks on Debian
export PATH=$PATH:/sbin:/usr/sbin

cd "$BUILDDIR" || exit 1
rm -f "$name.ok" "$name.failed" "$name.skipped" "$name.log"
mkdir -p tmp
workdir=$(mktemp -d "$BUILDDIR/tmp/$name.XXXXXX") || exit 1

if [ "$VALGRIND" = 1 ] || [ "$VALGRIND" = yes ]; then
	real=$E2QCOW
	E2QCOW=$workdir.valgrind/e2qcow
	mkdir -p "${E2QCOW%/*}"
	cat >"$E2QCOW" <<EOF
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--log-file="$BUILDDIR/$name.valgrind.%p" "$real" "\$@"
EOF
	chmod +x "$E2QCOW"
fi

export E2QCOW SRCDIR BUILDDIR TESTNAME=$name
start=$(date +%s)
(
	cd "$workdir" &&
	exec timeout -k 10 "${TEST_TIMEOUT:-300}" bash "$SRCDIR/$name/script"
) >"$name.log" 2>&1
rc=$?
secs=$(($(date +%s) - start))

# valgrind findings fail the test even when the script did not notice.
if ls "$name".valgrind.* >/dev/null 2>&1; then
	for f in "$name".valgrind.*; do
		if [ -s "$f" ]; then
			{ echo "--- valgrind: $f"; cat "$f"; } >>"$name.log"
			[ $rc -eq 0 ] && rc=1
		fi
	done
	rm -f "$name".valgrind.*
fi
rm -rf "$workdir.valgrind"

case $rc in
0)	touch "$name.ok"; result=ok ;;
77)	touch "$name.skipped"
	why=$(grep -m1 '^SKIP: ' "$name.log" | cut -c7-)
	[ -n "$why" ] || why=$(grep -v '^[[:space:]]*$' "$name.log" | tail -n 1)
	result="skipped: ${why:-no reason given}" ;;
124|137) echo "TIMEOUT after ${TEST_TIMEOUT:-300} s" >>"$name.log"
	touch "$name.failed"; result="failed (timeout)" ;;
*)	echo "exit status $rc" >>"$name.log"
	touch "$name.failed"; result=failed ;;
esac
if [ $rc -eq 0 ] || [ $rc -eq 77 ] || [ "$KEEP_TMP" = 1 ]; then
	[ "$KEEP_TMP" = 1 ] || rm -rf "$workdir"
else
	echo "(files left in $workdir)" >>"$name.log"
fi
printf '%-28s %s [%ss]\n' "$name:" "$result" "$secs"
exit 0
