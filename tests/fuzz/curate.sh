#!/bin/bash
# curate.sh OUTDIR [BUDGET_KB] --- after tests/fuzz/campaign.sh OUTDIR: picks
# from each target's grown corpus the inputs that reach paths the replayed
# corpora miss, and adds them, gzipped, as cov-SHA.gz to
# tests/fixtures/fuzz-found/TARGET/ (r_fuzz_found replays them).
#
# The baseline of the reader and io_manager targets is what
# r_qcow_fuzz_replay replays (make_hostile.py's corpus) plus what
# fuzz-found/TARGET/ holds already; of the walk, fuzz-found/walk/.
# libFuzzer's -set_cover_merge=1 keeps a small set of inputs that add
# features to it; of those, the smallest gzipped are taken while they fit in
# BUDGET_KB (default 60) and MAX_FILES (default 30) per target.  Update fuzz-found/expected afterwards
# (r_fuzz_found prints the new counts).
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
out=$(cd "${1:?usage: $0 OUTDIR [BUDGET_KB]}" && pwd)
budget=$((${2:-60} * 1024))
max_files=${MAX_FILES:-30}
found=$src/tests/fixtures/fuzz-found
b=$out/build
tmp=$out/curate
rm -rf "$tmp"
mkdir -p "$tmp/hostile"
python3 "$src/tests/fixtures/hostile/make_hostile.py" "$tmp/hostile" >/dev/null
rm -f "$tmp/hostile/manifest"
export FUZZ_WALK_BASE=$out/seeds/base4.img:$out/seeds/base2.img
for t in ${FUZZ_TARGETS:-reader io_manager walk}; do
	base=$tmp/base_$t
	mkdir -p "$base"
	[ "$t" = walk ] || cp "$tmp"/hostile/* "$base/"
	for f in "$found/$t"/*.gz; do
		[ -f "$f" ] && gzip -dc "$f" >"$base/$(basename "$f" .gz)"
	done
	ls "$base" | sort >"$tmp/before_$t"
	max_len=1048576
	[ "$t" = walk ] && max_len=8192
	nice -n 19 "$b/fuzz_$t" -set_cover_merge=1 -max_len=$max_len -timeout=10 \
		-rss_limit_mb=2048 "$base" "$out/corpus/$t" \
		>"$tmp/merge_$t.log" 2>&1
	ls "$base" | sort | comm -13 "$tmp/before_$t" - >"$tmp/new_$t"
	# smallest gzipped first, within the budget
	used=0 added=0
	while read -r size name; do
		[ $((used + size)) -le "$budget" ] && [ $added -lt "$max_files" ] ||
			continue
		gzip -9nc "$base/$name" >"$found/$t/cov-${name:0:12}.gz"
		used=$((used + size)) added=$((added + 1))
	done < <(while read -r name; do
			echo "$(gzip -9nc "$base/$name" | wc -c) $name"
		 done <"$tmp/new_$t" | sort -n)
	echo "$t: $(wc -l <"$tmp/new_$t") inputs add features," \
		"$added added ($used bytes gzipped)"
done
