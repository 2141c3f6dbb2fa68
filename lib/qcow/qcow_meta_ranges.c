/*
 * qcow_meta_ranges.c --- the metadata ranges of an image file: header,
 * tables, refcount blocks.  Once sorted they must be pairwise disjoint (an
 * L2 table named twice overlaps itself), and every data cluster is looked
 * up here so that it cannot alias metadata.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "qcow_reader_int.h"
#include "e2q_err.h"

errcode_t e2q_qcow_ranges_add(struct e2q_qcow_ranges *ranges, uint64_t start,
			      uint64_t len, const char *what)
{
	if (len == 0)
		return 0;
	if (start + len < start)
		return E2Q_ET_RANGE;
	if (ranges->count == ranges->alloc) {
		size_t n = ranges->alloc ? ranges->alloc * 2 : 64;
		struct e2q_qcow_range *r;

		if (n > SIZE_MAX / sizeof(*r))
			return ENOMEM;
		r = realloc(ranges->r, n * sizeof(*r));
		if (!r)
			return ENOMEM;
		ranges->r = r;
		ranges->alloc = n;
	}
	ranges->r[ranges->count].start = start;
	ranges->r[ranges->count].end = start + len;
	ranges->r[ranges->count].what = what;
	ranges->count++;
	return 0;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct e2q_qcow_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

errcode_t e2q_qcow_ranges_sort_check(struct e2q_qcow_ranges *ranges,
				     struct e2q_qcow_problem *problem)
{
	size_t i;

	if (ranges->count > 1)
		qsort(ranges->r, ranges->count, sizeof(*ranges->r),
		      compare_ranges);
	for (i = 1; i < ranges->count; i++) {
		if (ranges->r[i].start < ranges->r[i - 1].end) {
			e2q_qcow_set_problem(problem, ranges->r[i].what,
					     ranges->r[i].start);
			return E2Q_ET_QCOW_OVERLAP;
		}
	}
	return 0;
}

/* The range that meets [start, end), or NULL.  Ranges are sorted, disjoint. */
const struct e2q_qcow_range *
e2q_qcow_ranges_find(const struct e2q_qcow_ranges *ranges, uint64_t start,
		     uint64_t end)
{
	size_t lo = 0, hi = ranges->count;

	/* first range whose end is past start */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ranges->r[mid].end <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ranges->count && ranges->r[lo].start < end)
		return &ranges->r[lo];
	return NULL;
}

void e2q_qcow_ranges_free(struct e2q_qcow_ranges *ranges)
{
	free(ranges->r);
	ranges->r = NULL;
	ranges->count = ranges->alloc = 0;
}
