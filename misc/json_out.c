/*
 * json_out.c --- a JSON writer with correct escaping, and a strict,
 * bounded JSON reader for texts that come from images.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "misc/json_out.h"

/* ---- writing ------------------------------------------------------------ */

void e2q_json_init(struct e2q_json *j, FILE *f, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void newline(struct e2q_json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Length of the valid UTF-8 sequence at s (at most left bytes), or 0. */
static size_t utf8_length(const unsigned char *s, size_t left)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static void put_escaped(FILE *f, const char *value, size_t len)
{
	const unsigned char *s = (const unsigned char *) value;
	size_t i = 0, n;

	fputc('"', f);
	while (i < len) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else if (c >= 0x80) {
			n = utf8_length(s + i, len - i);
			if (n == 0) {
				fputs("\\ufffd", f);
				n = 1;
			} else {
				fwrite(s + i, 1, n, f);
			}
			i += n;
			continue;
		} else {
			fputc(c, f);
		}
		i++;
	}
	fputc('"', f);
}

/* The comma, newline and key before a value. */
static void before_value(struct e2q_json *j, const char *key)
{
	if (j->count[j->depth]++)
		fputc(',', j->f);
	if (j->depth)
		newline(j);
	if (key) {
		put_escaped(j->f, key, strlen(key));
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void begin(struct e2q_json *j, const char *key, char open)
{
	before_value(j, key);
	fputc(open, j->f);
	if (j->depth < E2Q_JSON_WRITER_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
}

static void end(struct e2q_json *j, char close)
{
	int had = j->count[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (had)
		newline(j);
	fputc(close, j->f);
}

void e2q_json_begin_object(struct e2q_json *j, const char *key)
{
	begin(j, key, '{');
}

void e2q_json_end_object(struct e2q_json *j)
{
	end(j, '}');
}

void e2q_json_begin_array(struct e2q_json *j, const char *key)
{
	begin(j, key, '[');
}

void e2q_json_end_array(struct e2q_json *j)
{
	end(j, ']');
}

void e2q_json_string_len(struct e2q_json *j, const char *key,
			 const char *value, size_t len)
{
	before_value(j, key);
	put_escaped(j->f, value, len);
}

void e2q_json_string(struct e2q_json *j, const char *key, const char *value)
{
	if (!value) {
		e2q_json_null(j, key);
		return;
	}
	e2q_json_string_len(j, key, value, strlen(value));
}

void e2q_json_uint(struct e2q_json *j, const char *key, uint64_t value)
{
	before_value(j, key);
	fprintf(j->f, "%" PRIu64, value);
}

void e2q_json_double(struct e2q_json *j, const char *key, double value)
{
	before_value(j, key);
	if (value != value || value > 1e300 || value < -1e300)
		fputs("null", j->f);	/* JSON has no NaN or infinity */
	else
		fprintf(j->f, "%.3f", value);
}

void e2q_json_bool(struct e2q_json *j, const char *key, int value)
{
	e2q_json_literal(j, key, value ? "true" : "false");
}

void e2q_json_null(struct e2q_json *j, const char *key)
{
	e2q_json_literal(j, key, "null");
}

void e2q_json_literal(struct e2q_json *j, const char *key, const char *text)
{
	before_value(j, key);
	fputs(text, j->f);
}

void e2q_json_finish(struct e2q_json *j)
{
	if (j->pretty)
		fputc('\n', j->f);
	fflush(j->f);
}

/* ---- reading ------------------------------------------------------------ */

struct parser {
	const char *s;
	size_t len, pos;
	e2q_json_event_fn fn;
	void *priv;
	char *buf;		/* a decoded string */
	size_t buf_len, buf_cap;
	char *key;		/* the pending member name */
	size_t key_cap;
};

static void skip_space(struct parser *p)
{
	while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) &&
	       p->s[p->pos])
		p->pos++;
}

static int buf_put(struct parser *p, const void *bytes, size_t n)
{
	if (p->buf_len + n + 1 > p->buf_cap) {
		size_t cap = (p->buf_len + n + 1) * 2;
		char *b = realloc(p->buf, cap);

		if (!b)
			return -1;
		p->buf = b;
		p->buf_cap = cap;
	}
	memcpy(p->buf + p->buf_len, bytes, n);
	p->buf_len += n;
	p->buf[p->buf_len] = '\0';
	return 0;
}

static int hex4(struct parser *p, uint32_t *v)
{
	size_t i;

	*v = 0;
	if (p->len - p->pos < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		char c = p->s[p->pos++];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t) (c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t) (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t) (c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static int put_code_point(struct parser *p, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (unsigned char) cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char) (0xc0 | (cp >> 6));
		u[1] = (unsigned char) (0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char) (0xe0 | (cp >> 12));
		u[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char) (0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (unsigned char) (0xf0 | (cp >> 18));
		u[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
		u[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
		u[3] = (unsigned char) (0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_put(p, u, n);
}

/* \uXXXX, with a following low surrogate when it is a high one. */
static int unicode_escape(struct parser *p)
{
	uint32_t cp, low;

	if (hex4(p, &cp))
		return -1;
	if (cp >= 0xd800 && cp <= 0xdbff && p->len - p->pos >= 6 &&
	    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
		size_t save = p->pos;

		p->pos += 2;
		if (hex4(p, &low))
			return -1;
		if (low >= 0xdc00 && low <= 0xdfff)
			cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
		else
			p->pos = save;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;	/* a lone surrogate */
	return put_code_point(p, cp);
}

static int escape(struct parser *p)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *at;
	char c;

	if (p->pos >= p->len)
		return -1;
	c = p->s[p->pos++];
	if (c == 'u')
		return unicode_escape(p);
	at = c ? strchr(from, c) : NULL;
	return at ? buf_put(p, &to[at - from], 1) : -1;
}

/* A string into p->buf (decoded). */
static int parse_string(struct parser *p)
{
	p->buf_len = 0;
	if (buf_put(p, "", 0) || p->pos >= p->len || p->s[p->pos] != '"')
		return -1;
	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char) p->s[p->pos++];

		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c == '\\' ? escape(p) : buf_put(p, &c, 1))
			return -1;
	}
	return -1;
}

static size_t digits(struct parser *p)
{
	size_t start = p->pos;

	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return p->pos - start;
}

static int parse_number(struct parser *p)
{
	size_t start = p->pos, n;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	n = digits(p);
	if (n == 0 || (n > 1 && p->s[p->pos - n] == '0'))
		return -1;
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!digits(p))
			return -1;
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && strchr("+-", p->s[p->pos]) &&
		    p->s[p->pos])
			p->pos++;
		if (!digits(p))
			return -1;
	}
	p->buf_len = 0;
	return buf_put(p, p->s + start, p->pos - start);
}

static int parse_literal(struct parser *p)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t i, n;

	for (i = 0; i < 3; i++) {
		n = strlen(words[i]);
		if (p->len - p->pos >= n && !memcmp(p->s + p->pos, words[i], n)) {
			p->pos += n;
			p->buf_len = 0;
			return buf_put(p, words[i], n);
		}
	}
	return -1;
}

static void emit(struct parser *p, enum e2q_json_kind kind, const char *key,
		 const char *text, size_t len, int depth)
{
	if (p->fn)
		p->fn(p->priv, kind, key, text, len, depth);
}

static int parse_value(struct parser *p, const char *key, int depth);

/* Saves the member name: parsing the value reuses p->buf. */
static char *take_key(struct parser *p)
{
	char *k = malloc(p->buf_len + 1);

	if (k)
		memcpy(k, p->buf, p->buf_len + 1);
	return k;
}

static int parse_members(struct parser *p, int depth, char close)
{
	char *key = NULL;
	int first = 1, rc = 0;

	for (skip_space(p); rc == 0; first = 0) {
		if (p->pos < p->len && p->s[p->pos] == close && first)
			break;
		if (close == '}') {
			rc = parse_string(p);
			key = rc ? NULL : take_key(p);
			skip_space(p);
			if (!key || p->pos >= p->len || p->s[p->pos++] != ':')
				rc = -1;
		}
		if (!rc)
			rc = parse_value(p, key, depth + 1);
		free(key);
		key = NULL;
		skip_space(p);
		if (rc || p->pos >= p->len)
			return -1;
		if (p->s[p->pos] == close)
			break;
		if (p->s[p->pos++] != ',')
			return -1;
		skip_space(p);
	}
	if (rc)
		return rc;
	p->pos++;	/* the closing bracket */
	return 0;
}

static int parse_value(struct parser *p, const char *key, int depth)
{
	char c;
	int rc;

	skip_space(p);
	if (p->pos >= p->len || depth >= E2Q_JSON_MAX_DEPTH)
		return -1;
	c = p->s[p->pos];
	if (c == '{' || c == '[') {
		p->pos++;
		emit(p, c == '{' ? E2Q_JSON_OBJECT : E2Q_JSON_ARRAY, key, NULL,
		     0, depth);
		rc = parse_members(p, depth, c == '{' ? '}' : ']');
		if (!rc)
			emit(p, E2Q_JSON_END, NULL, NULL, 0, depth);
		return rc;
	}
	if (c == '"')
		rc = parse_string(p);
	else if (c == '-' || (c >= '0' && c <= '9'))
		rc = parse_number(p);
	else
		rc = parse_literal(p);
	if (!rc)
		emit(p, c == '"' ? E2Q_JSON_STRING : c == '-' ||
		     (c >= '0' && c <= '9') ? E2Q_JSON_NUMBER :
		     E2Q_JSON_LITERAL, key, p->buf, p->buf_len, depth);
	return rc;
}

static int run_parser(const char *text, size_t len, e2q_json_event_fn fn,
		      void *priv)
{
	struct parser p;
	int rc;

	memset(&p, 0, sizeof(p));
	p.s = text;
	p.len = len;
	p.fn = fn;
	p.priv = priv;
	rc = parse_value(&p, NULL, 0);
	skip_space(&p);
	if (!rc && p.pos != p.len)
		rc = -1;	/* trailing bytes */
	free(p.buf);
	return rc;
}

int e2q_json_parse(const char *text, size_t len, e2q_json_event_fn fn,
		   void *priv)
{
	/* first only check, so that fn never sees half a document */
	if (run_parser(text, len, NULL, NULL))
		return -1;
	return fn ? run_parser(text, len, fn, priv) : 0;
}

struct copy {
	struct e2q_json *j;
	const char *top_key;
	int (*skip_key)(const char *key);	/* NULL: copy everything */
	int skip_depth;		/* > 0: inside a value left out */
	char close[E2Q_JSON_MAX_DEPTH + 1];	/* per depth: '}' or ']' */
};

/* 1 when the event belongs to a value that skip_key leaves out. */
static int skipped(struct copy *c, enum e2q_json_kind kind, const char *key,
		   int depth)
{
	if (c->skip_depth) {
		if (kind == E2Q_JSON_END && depth == c->skip_depth)
			c->skip_depth = 0;
		return 1;
	}
	if (!c->skip_key || !key || kind == E2Q_JSON_END || !c->skip_key(key))
		return 0;
	if (kind == E2Q_JSON_OBJECT || kind == E2Q_JSON_ARRAY)
		c->skip_depth = depth;	/* depth > 0: the top has no key */
	return 1;
}

static void copy_event(void *priv, enum e2q_json_kind kind, const char *key,
		       const char *text, size_t len, int depth)
{
	struct copy *c = priv;

	if (depth == 0)
		key = c->top_key;
	else if (skipped(c, kind, key, depth))
		return;
	switch (kind) {
	case E2Q_JSON_OBJECT:
		c->close[depth] = '}';
		e2q_json_begin_object(c->j, key);
		break;
	case E2Q_JSON_ARRAY:
		c->close[depth] = ']';
		e2q_json_begin_array(c->j, key);
		break;
	case E2Q_JSON_END:
		end(c->j, c->close[depth]);
		break;
	case E2Q_JSON_STRING: e2q_json_string_len(c->j, key, text, len); break;
	default: e2q_json_literal(c->j, key, text); break;
	}
}

int e2q_json_copy(struct e2q_json *j, const char *key, const char *text,
		  size_t len, int (*skip_key)(const char *key))
{
	struct copy c;

	memset(&c, 0, sizeof(c));
	c.j = j;
	c.top_key = key;
	c.skip_key = skip_key;
	return e2q_json_parse(text, len, copy_event, &c);
}
