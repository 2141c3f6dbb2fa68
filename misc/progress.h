/*
 * progress.h --- the -p progress line and the closing summary, on stderr.
 *
 * The progress line is drawn only when stderr is a terminal, at most five
 * times a second; the summary line is printed whenever -p was given.
 */
#ifndef E2Q_PROGRESS_H
#define E2Q_PROGRESS_H

#include <stdint.h>

struct e2q_progress {
	int enabled;		/* -p */
	int on_terminal;	/* stderr is a tty: draw the moving line */
	const char *what;	/* "Copying", "Converting" */
	uint64_t total;		/* units expected */
	uint64_t unit_bytes;	/* bytes per unit, for the rate */
	double start, last_draw;
};

void e2q_progress_start(struct e2q_progress *p, int enabled, const char *what,
			uint64_t total, uint64_t unit_bytes);
void e2q_progress_update(struct e2q_progress *p, uint64_t done);
void e2q_progress_end(struct e2q_progress *p, uint64_t done,
		      uint64_t bytes_in, uint64_t bytes_out);
double e2q_now(void);

#endif /* E2Q_PROGRESS_H */
