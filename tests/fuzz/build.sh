#!/bin/sh
# build.sh BUILDDIR [driver|libfuzzer [OUTPUT]] --- builds tests/fuzz/fuzz_walk
# (into OUTPUT, default BUILDDIR/fuzz_walk) against the
# libraries of a configured and built tree (use ./configure
# --enable-sanitizers for ASan/UBSan).  With "libfuzzer", clang builds a
# libFuzzer target instead of the driver:
#   FUZZ_WALK_BASE=base4.img:base2.img ./fuzz_walk -max_total_time=600 corpus/
# (several bases, colon-separated: an input's first byte picks one)
# The driver: ./fuzz_walk base4.img 100000 1   (base images: tests/d_lib.sh)
set -e
src=$(cd "$(dirname "$0")/../.." && pwd)
b=$(cd "${1:?usage: $0 BUILDDIR [driver|libfuzzer [OUTPUT]]}" && pwd)
out=${3:-$b/fuzz_walk}
flags=$(sed -n 's/^SANITIZER_FLAGS = //p' "$b/MCONFIG")
libs=$(sed -n 's/^LIBS = //p' "$b/MCONFIG")
inc="-I$b -I$src -I$b/lib/support -I$src/lib/support -I$src/lib -DHAVE_CONFIG_H -D_GNU_SOURCE"
objs="$b/lib/e2meta/libe2meta.a $b/lib/support/libe2qsupport.a"
if [ "$2" = libfuzzer ]; then
	clang -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZ_WALK_LIBFUZZER $inc \
		"$src/tests/fuzz/fuzz_walk.c" $objs $libs -o "$out"
else
	${CC:-cc} -g -O2 $flags $inc "$src/tests/fuzz/fuzz_walk.c" $objs $libs \
		-o "$out"
fi
echo "$out"
