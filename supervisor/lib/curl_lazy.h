/*
 * curl_lazy.h - libcurl, loaded the first time rover talks to an engine.
 *
 * rover is not linked against libcurl.  curl_lazy.c defines the libcurl
 * functions rover calls (the same names and prototypes as <curl/curl.h>);
 * the first call dlopen()s libcurl.so.4 and each function forwards to the
 * library's own.  Why: libcurl pulls in about 35 shared libraries (TLS,
 * Kerberos, LDAP, SSH, IDN...), and loading them was most of the start-up
 * of every rover command, 6-7 ms of 7-8 ms on an idle machine
 * (bench/startup.sh).  Commands that never reach an engine (--version,
 * --help, inspect or list of finished tasks) do not pay it; the others pay
 * it once, when they first open an engine.  bin/rover is itself linked
 * statically, and loads libcurl this way only with the glibc it was linked
 * with (linkage.h): where that is no longer the system's and rover-dynamic
 * could not take over, the first call fails with linkage's message.
 *
 * When the library cannot be loaded, curl_global_init() returns
 * CURLE_FAILED_INIT and curl_easy_strerror() of that code says what
 * dlopen() said and which package provides the library; every other
 * function fails as libcurl itself does on a bad handle (NULL, or
 * CURLE_FAILED_INIT).
 *
 * Only the functions rover uses are defined: a new libcurl call fails to
 * link until it is added to curl_lazy.c (one line in its table).
 */
#ifndef ROVER_CURL_LAZY_H
#define ROVER_CURL_LAZY_H

#include <stdbool.h>

/* Whether libcurl is loaded (for tests and bench/startup.sh). */
bool curl_lazy_loaded(void);

#endif
