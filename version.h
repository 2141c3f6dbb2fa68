/*
 * version.h --- the e2qcow release, read by configure and by the programs.
 */
#define E2QCOW_VERSION "0.1.0"
#define E2QCOW_DATE "22-Nov-2026"
