/* Errors as values: every library call that can fail takes a vs_err * and
 * returns -1 after filling it, so the CLI prints one line naming what failed. */
#ifndef VESSEL_CORE_ERROR_H
#define VESSEL_CORE_ERROR_H

#include <stddef.h>

#define VS_ERR_MSG_MAX 1024

typedef struct vs_err {
	int errnum;		  /* errno of the failing call, 0 if none */
	int exit_code;		  /* exit status the CLI should use (default 1) */
	char msg[VS_ERR_MSG_MAX]; /* human readable, already includes strerror */
} vs_err;

/* Record an error with printf-style context; appends ": strerror(errnum)" when
 * errnum != 0. Always returns -1 so callers can `return vs_fail(...)`. */
int vs_fail(vs_err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Same as vs_fail with errnum = errno captured at the call. */
#define vs_fail_errno(err, ...) vs_fail((err), errno, __VA_ARGS__)

/* Prefix an existing error with more context ("creating container x: ..."). */
int vs_err_wrap(vs_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void vs_err_clear(vs_err *err);

#endif
