/*
 * nls-enable.h --- the gettext macros, as in e2fsprogs.
 *
 * _("text") translates a message where it is used; N_("text") only marks a
 * string for xgettext (tables of messages, translated later with _());
 * P_("one", "many", n) picks the plural form for n.  With ENABLE_NLS
 * (config.h, from ./configure; --disable-nls turns it off) they map to
 * gettext() and ngettext(), otherwise to the untranslated text.
 *
 * main() sets up the catalogue once, before printing anything:
 *
 *	#ifdef ENABLE_NLS
 *		setlocale(LC_MESSAGES, "");
 *		setlocale(LC_CTYPE, "");
 *		bindtextdomain(NLS_CAT_NAME, LOCALEDIR);
 *		textdomain(NLS_CAT_NAME);
 *		set_com_err_gettext(gettext);
 *	#endif
 *
 * LOCALEDIR comes from MCONFIG ($(datadir)/locale); the catalogue is
 * installed by po/Makefile as $(localedir)/LANG/LC_MESSAGES/e2qcow.mo.
 */
#ifndef E2Q_NLS_ENABLE_H
#define E2Q_NLS_ENABLE_H

#ifdef ENABLE_NLS
#include <libintl.h>
#include <locale.h>
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
#else
#define _(a) (a)
#define N_(a) a
#define P_(singular, plural, n) ((n) == 1 ? (singular) : (plural))
#endif

#endif /* E2Q_NLS_ENABLE_H */
