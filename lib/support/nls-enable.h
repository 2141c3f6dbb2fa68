/*
 * nls-enable.h --- the gettext macros, as in e2fsprogs.
 *
 * _("text") translates a message where it is used; N_("text") only marks a
 * string for xgettext (tables of messages, translated later with _());
 * P_("one", "many", n) picks the plural form for n.  With ENABLE_NLS
 * (config.h, from ./configure; --disable-nls turns it off) they map to
 * gettext() and ngettext(), otherwise to the untranslated text.  Include
 * "config.h" before this header, or ENABLE_NLS is not seen.
 *
 * main() calls e2q_nls_init() once, before printing anything: it sets the
 * locale, binds the "e2qcow" catalogue in LOCALEDIR and hands gettext to
 * com_err (set_com_err_gettext) so that the error table's texts translate.
 * glibc ignores LANGUAGE in the "C" locale; when LANGUAGE is set and the
 * locale is C, C.UTF-8 is used instead, so that "LANGUAGE=de e2qcow --help"
 * prints German on a system without LANG.
 *
 * LOCALEDIR comes from MCONFIG ($(datadir)/locale); the catalogue is
 * installed by po/Makefile as $(localedir)/LANG/LC_MESSAGES/e2qcow.mo.
 */
#ifndef E2Q_NLS_ENABLE_H
#define E2Q_NLS_ENABLE_H

#ifdef ENABLE_NLS
#include <libintl.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <et/com_err.h>
#define _(a) (gettext(a))
#ifdef gettext_noop
#define N_(a) gettext_noop(a)
#else
#define N_(a) (a)
#endif
#define P_(singular, plural, n) (ngettext(singular, plural, n))
#ifndef NLS_CAT_NAME
#define NLS_CAT_NAME "e2qcow"
#endif
#ifndef LOCALEDIR
#define LOCALEDIR "/usr/share/locale"
#endif

static inline int e2q_nls_is_c_locale(const char *loc)
{
	return !loc || !strcmp(loc, "C") || !strcmp(loc, "POSIX");
}

static inline void e2q_nls_init(void)
{
	setlocale(LC_CTYPE, "");
	if (e2q_nls_is_c_locale(setlocale(LC_MESSAGES, "")) &&
	    getenv("LANGUAGE") && *getenv("LANGUAGE")) {
		setlocale(LC_MESSAGES, "C.UTF-8");
		if (e2q_nls_is_c_locale(setlocale(LC_CTYPE, NULL)))
			setlocale(LC_CTYPE, "C.UTF-8");
	}
	bindtextdomain(NLS_CAT_NAME, LOCALEDIR);
	textdomain(NLS_CAT_NAME);
	set_com_err_gettext(gettext);
}
#else
#define _(a) (a)
#define N_(a) a
#define P_(singular, plural, n) ((n) == 1 ? (singular) : (plural))

static inline void e2q_nls_init(void)
{
}
#endif

#endif /* E2Q_NLS_ENABLE_H */
