/* libcurl loaded on first use: see curl_lazy.h. */
#define _GNU_SOURCE
#define CURL_DISABLE_TYPECHECK /* the type-checking macros would hide the definitions below */
#include "curl_lazy.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "supervisor/lib/linkage.h"

/* The soname of libcurl's ABI 4, the one <curl/curl.h> describes. */
#define LIBCURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *library;
static char load_error[512];

static void load(void)
{
	const char *refusal = linkage_dlopen_refusal();
	if (refusal) {
		snprintf(load_error, sizeof(load_error), "%s", refusal);
		return;
	}
	library = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!library) {
		const char *why = dlerror();
		snprintf(load_error, sizeof(load_error),
			 "cannot load %s (%s); install it: apt-get install libcurl4",
			 LIBCURL_SONAME, why ? why : "not found");
	}
}

/* The library's own function `name`, or NULL when it cannot be loaded. */
static void *resolve(const char *name)
{
	pthread_once(&load_once, load);
	return library ? dlsym(library, name) : NULL;
}

bool curl_lazy_loaded(void)
{
	return library != NULL;
}

/* One forwarding definition per libcurl function rover calls.  typeof of
 * the function itself gives the pointer type from <curl/curl.h>, so a
 * prototype can never drift from the header's. */
#define FORWARD(ret, name, params, args, failed)                    \
	ret name params                                             \
	{                                                           \
		typeof(&name) real = (typeof(&name))resolve(#name); \
		return real ? real args : failed;                   \
	}
#define FORWARD_VOID(name, params, args)                            \
	void name params                                            \
	{                                                           \
		typeof(&name) real = (typeof(&name))resolve(#name); \
		if (real)                                           \
			real args;                                  \
	}

FORWARD(CURLcode, curl_global_init, (long flags), (flags), CURLE_FAILED_INIT)
FORWARD_VOID(curl_global_cleanup, (void), ())
FORWARD(CURL *, curl_easy_init, (void), (), NULL)
FORWARD_VOID(curl_easy_cleanup, (CURL * h), (h))
FORWARD_VOID(curl_easy_reset, (CURL * h), (h))
FORWARD(CURLcode, curl_easy_perform, (CURL * h), (h), CURLE_FAILED_INIT)
FORWARD(CURLcode, curl_easy_send, (CURL * h, const void *buf, size_t len, size_t *n),
	(h, buf, len, n), CURLE_FAILED_INIT)
FORWARD(CURLcode, curl_easy_recv, (CURL * h, void *buf, size_t len, size_t *n), (h, buf, len, n),
	CURLE_FAILED_INIT)
FORWARD(char *, curl_easy_escape, (CURL * h, const char *s, int len), (h, s, len), NULL)
FORWARD_VOID(curl_free, (void *p), (p))
FORWARD(struct curl_slist *, curl_slist_append, (struct curl_slist * l, const char *s), (l, s),
	NULL)
FORWARD_VOID(curl_slist_free_all, (struct curl_slist * l), (l))
FORWARD(CURLM *, curl_multi_init, (void), (), NULL)
FORWARD(CURLMcode, curl_multi_cleanup, (CURLM * m), (m), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL *h), (m, h), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL *h), (m, h), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_perform, (CURLM * m, int *running), (m, running), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_poll,
	(CURLM * m, struct curl_waitfd extra[], unsigned int n, int timeout_ms, int *ret),
	(m, extra, n, timeout_ms, ret), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_wakeup, (CURLM * m), (m), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_fdset, (CURLM * m, fd_set *r, fd_set *w, fd_set *x, int *max_fd),
	(m, r, w, x, max_fd), CURLM_BAD_HANDLE)
FORWARD(CURLMcode, curl_multi_timeout, (CURLM * m, long *ret), (m, ret), CURLM_BAD_HANDLE)
FORWARD(CURLMsg *, curl_multi_info_read, (CURLM * m, int *left), (m, left), NULL)
FORWARD(const char *, curl_multi_strerror, (CURLMcode code), (code), "libcurl is not loaded")

const char *curl_easy_strerror(CURLcode code)
{
	typeof(&curl_easy_strerror) real = (typeof(&curl_easy_strerror))resolve(__func__);
	if (real)
		return real(code);
	return load_error[0] ? load_error : "libcurl is not loaded";
}

/* The variadic two: libcurl reads exactly one argument after the option,
 * whose type the option's number range tells (CURLOPTTYPE_*, CURLINFO_*);
 * it is read here with that type and passed on. */
CURLcode curl_easy_setopt(CURL *h, CURLoption option, ...)
{
	typeof(&curl_easy_setopt) real = (typeof(&curl_easy_setopt))resolve(__func__);
	if (!real)
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, option);
	CURLcode r;
	if (option < CURLOPTTYPE_OBJECTPOINT) {
		r = real(h, option, va_arg(ap, long));
	} else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
		r = real(h, option, va_arg(ap, void *));
	} else if (option < CURLOPTTYPE_OFF_T) {
		typedef void (*any_function)(void);
		r = real(h, option, va_arg(ap, any_function));
	} else if (option < CURLOPTTYPE_BLOB) {
		r = real(h, option, va_arg(ap, curl_off_t));
	} else {
		r = real(h, option, va_arg(ap, void *));
	}
	va_end(ap);
	return r;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	typeof(&curl_easy_getinfo) real = (typeof(&curl_easy_getinfo))resolve(__func__);
	if (!real)
		return CURLE_FAILED_INIT;
	va_list ap;
	va_start(ap, info);
	CURLcode r = real(h, info, va_arg(ap, void *)); /* always a pointer to the answer */
	va_end(ap);
	return r;
}
