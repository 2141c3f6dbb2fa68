#!/bin/bash
# summary.sh OUTDIR --- per target of a tests/fuzz/campaign.sh run: the
# executions, execs/s, the last cov: and ft: libFuzzer printed, the corpus
# size and the artifacts (crashes, timeouts, leaks, OOMs) saved so far.
out=${1:?usage: $0 OUTDIR}
printf '%-11s %10s %7s %6s %7s %7s %6s  %s\n' target execs exec/s time cov ft corpus artifacts
for log in "$out"/logs/*.log; do
	[ -f "$log" ] || continue
	t=$(basename "$log" .log)
	# fork mode: "#N: cov: C ft: F corp: K exec/s E ... time: Ts"
	last=$(grep -a -E '^#[0-9]+: cov: ' "$log" | tail -1)
	execs=$(echo "$last" | sed -n 's/^#\([0-9]*\):.*/\1/p')
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	rate=$(echo "$last" | sed -n 's/.* exec\/s:\{0,1\} \([0-9]*\).*/\1/p')
	secs=$(echo "$last" | sed -n 's/.* time: \([0-9]*\)s.*/\1/p')
	corpus=$(find "$out/corpus/$t" -type f 2>/dev/null | wc -l)
	arts=$(find "$out/artifacts/$t" -maxdepth 1 -type f \
		\( -name 'crash-*' -o -name 'timeout-*' -o -name 'leak-*' \
		   -o -name 'oom-*' -o -name 'slow-unit-*' \) 2>/dev/null |
		sed 's#.*/##; s/-.*//' | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}')
	printf '%-11s %10s %7s %6s %7s %7s %6s  %s\n' "$t" "${execs:--}" \
		"${rate:--}" "${secs:--}" "${cov:--}" "${ft:--}" "$corpus" "${arts:-none}"
done
