#!/bin/bash
# test_summary.sh --- after make check: print the logs of the failed tests
# and, as the last line, "N passed, N failed[, N skipped]".  Exits 1 when a
# test failed or did not leave a result.
#
# Usage: test_summary.sh NAME...   (from the tests build folder)

passed=0 failed=0 skipped=0 failed_names=
for name in "$@"; do
	if [ -f "$name.ok" ]; then
		passed=$((passed + 1))
	elif [ -f "$name.skipped" ]; then
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
	fi
done
for name in $failed_names; do
	echo "======== $name.log"
	if [ -f "$name.log" ]; then
		tail -n 60 "$name.log"
	else
		echo "(no log: the test did not run)"
	fi
done
[ -n "$failed_names" ] && echo "Failed:$failed_names"
line="$passed passed, $failed failed"
[ $skipped -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ $failed -eq 0 ]
