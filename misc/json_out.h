/*
 * json_out.h --- writes JSON to a stdio stream, with every string escaped
 * (quotes, backslashes, control characters) and made valid UTF-8 (bytes
 * that are not, U+FFFD), so that what --info, --check, -p --output=json
 * and the capture report print parses whatever the image or the
 * filesystem holds.  Also reads JSON back: e2q_json_parse() checks a text
 * (such as the capture report of an image, hostile bytes) and hands its
 * values to a sink, never more than E2Q_JSON_MAX_DEPTH deep.
 *
 * Writing: e2q_json_init(), then values; inside an object each value has a
 * key, inside an array key is NULL.  Commas, and with `pretty` newlines
 * and two-space indents, are the writer's business.  Output errors are
 * the stream's (ferror()).
 */
#ifndef E2Q_JSON_OUT_H
#define E2Q_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define E2Q_JSON_MAX_DEPTH	16	/* of a text read back */
#define E2Q_JSON_WRITER_DEPTH	64	/* ours, with a text read back inside */

struct e2q_json {
	FILE *f;
	int pretty;
	int depth;
	int count[E2Q_JSON_WRITER_DEPTH + 1];	/* values written per level */
};

void e2q_json_init(struct e2q_json *j, FILE *f, int pretty);
void e2q_json_begin_object(struct e2q_json *j, const char *key);
void e2q_json_end_object(struct e2q_json *j);
void e2q_json_begin_array(struct e2q_json *j, const char *key);
void e2q_json_end_array(struct e2q_json *j);
void e2q_json_string(struct e2q_json *j, const char *key, const char *value);
void e2q_json_string_len(struct e2q_json *j, const char *key,
			 const char *value, size_t len);
void e2q_json_uint(struct e2q_json *j, const char *key, uint64_t value);
void e2q_json_double(struct e2q_json *j, const char *key, double value);
void e2q_json_bool(struct e2q_json *j, const char *key, int value);
void e2q_json_null(struct e2q_json *j, const char *key);
/* A number or literal already known to be valid JSON (from the parser). */
void e2q_json_literal(struct e2q_json *j, const char *key, const char *text);
/* Ends the document: a newline when pretty. */
void e2q_json_finish(struct e2q_json *j);

/* What e2q_json_parse() found, value by value, in document order. */
enum e2q_json_kind {
	E2Q_JSON_STRING,	/* text: the decoded string (UTF-8, may hold NUL) */
	E2Q_JSON_NUMBER,	/* text: the number as written */
	E2Q_JSON_LITERAL,	/* text: true, false or null */
	E2Q_JSON_OBJECT,	/* begin: text NULL */
	E2Q_JSON_ARRAY,		/* begin: text NULL */
	E2Q_JSON_END,		/* end of the innermost object or array */
};

/* key: the member name inside an object, NULL inside an array or at the
 * top; depth: 0 for the top value. */
typedef void (*e2q_json_event_fn)(void *priv, enum e2q_json_kind kind,
				  const char *key, const char *text,
				  size_t text_len, int depth);

/*
 * Checks that text[0..len) is one JSON value (RFC 8259; nesting capped at
 * E2Q_JSON_MAX_DEPTH) and only then hands its values to fn (which may be
 * NULL to check only).  Returns 0, or -1 for malformed text (fn not called)
 * or no memory.
 */
int e2q_json_parse(const char *text, size_t len, e2q_json_event_fn fn,
		   void *priv);

/* Writes the JSON document text again through j, as the value of key;
 * below the top, every value whose key skip_key() accepts is left out
 * (skip_key NULL: none).  -1 when text is not JSON (nothing written). */
int e2q_json_copy(struct e2q_json *j, const char *key, const char *text,
		  size_t len, int (*skip_key)(const char *key));

#endif /* E2Q_JSON_OUT_H */
