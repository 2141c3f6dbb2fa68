#!/bin/bash
# campaign.sh OUTDIR [SECONDS] --- a fuzzing campaign over the three
# libFuzzer targets, under ASan and UBSan, repeatable by anyone:
#
#   reader     tests/progs/fuzz_qcow.c: open, info, check, pread, convert
#   io_manager tests/progs/fuzz_qcow.c -DFUZZ_IO_MANAGER: ext2fs_open2()
#              through e2q_qcow_io_manager, inode scan, bitmaps
#   walk       tests/fuzz/fuzz_walk.c: e2q_meta_mark() and the scrambler on
#              patched copies of the d_lib.sh bases (base4 and base2)
#
# 1. configures and builds the libraries in OUTDIR/build with clang,
#    --enable-sanitizers and -fsanitize=fuzzer-no-link, so that libFuzzer
#    sees the coverage of lib/ itself, not only of the target files;
# 2. builds the targets and the seed corpora (tests/fuzz/seeds.sh);
# 3. runs the three targets at once for SECONDS each (default 3700), each
#    under nice -n 19 in libFuzzer's fork mode with one worker (-fork=1:
#    a crash, timeout or leak is saved in OUTDIR/artifacts/TARGET/ and the
#    campaign goes on), logs in OUTDIR/logs/TARGET.log, grown corpora in
#    OUTDIR/corpus/TARGET/;
# 4. prints per target the executions, execs/s, libFuzzer's last cov: and
#    ft:, the corpus size and the artifacts (tests/fuzz/summary.sh OUTDIR
#    prints it again, also while the campaign runs).
#
# Environment: FUZZ_SKIP_BUILD=1 reuses OUTDIR/build and OUTDIR/seeds;
# FUZZ_TARGETS="reader walk" runs only those.
# A finding is replayed without libFuzzer by tests/r_fuzz_found, once it
# is minimised (./fuzz_TARGET -minimize_crash=1 -runs=10000 ARTIFACT) and
# copied, gzipped, to tests/fixtures/fuzz-found/TARGET/.
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: $0 OUTDIR [SECONDS]}
seconds=${2:-3700}
targets=${FUZZ_TARGETS:-reader io_manager walk}
mkdir -p "$out"
out=$(cd "$out" && pwd)
b=$out/build

if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
	mkdir -p "$b"
	(cd "$b" && "$src/configure" --enable-sanitizers CC=clang \
		CFLAGS="-g -O1 -fsanitize=fuzzer-no-link" >configure.log)
	for d in lib/support lib/qcow lib/qcowio lib/e2meta lib/e2copy misc; do
		make -s -C "$b/$d" all >/dev/null
	done
	"$src/tests/fuzz/seeds.sh" "$b/misc/e2qcow" "$out/seeds"
fi

libs=$(sed -n 's/^LIBS = //p' "$b/MCONFIG")
inc="-I$b -I$src -I$b/lib/support -I$src/lib/support -I$src/lib -D_GNU_SOURCE -include config.h"
lf="clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
qlibs="$b/lib/qcow/libe2qcow.a $b/lib/support/libe2qsupport.a"
$lf -DWITH_LIBFUZZER $inc "$src/tests/progs/fuzz_qcow.c" $qlibs $libs \
	-o "$b/fuzz_reader"
$lf -DWITH_LIBFUZZER -DFUZZ_IO_MANAGER $inc "$src/tests/progs/fuzz_qcow.c" \
	"$b/lib/qcowio/libe2qcowio.a" $qlibs $libs -o "$b/fuzz_io_manager"
"$src/tests/fuzz/build.sh" "$b" libfuzzer >/dev/null

export FUZZ_WALK_BASE=$out/seeds/base4.img:$out/seeds/base2.img
# leaks are findings too; symbolised reports
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$out/logs"
for t in $targets; do
	case $t in
	walk) seeds=$out/seeds/walk max_len=8192 ;;
	*) seeds=$out/seeds/qcow max_len=1048576 ;;
	esac
	mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
	echo "$(date -u +%FT%TZ) start $t for ${seconds}s" >>"$out/campaign.log"
	(cd "$out/artifacts/$t" &&
	 exec nice -n 19 "$b/fuzz_$t" -fork=1 -ignore_crashes=1 \
		-ignore_timeouts=1 -ignore_ooms=1 -max_total_time="$seconds" \
		-timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
		-artifact_prefix="$out/artifacts/$t/" -print_final_stats=1 \
		"$out/corpus/$t" "$seeds" >"$out/logs/$t.log" 2>&1) &
done
wait
echo "$(date -u +%FT%TZ) all done" >>"$out/campaign.log"
"$src/tests/fuzz/summary.sh" "$out"
