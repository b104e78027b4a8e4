#include "vm/vsock/hybrid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void vs_vsock_line_init(vs_vsock_line *l)
{
	l->len = 0;
}

/* `CONNECT ` then 1-10 digits, no sign, no spaces, no leading zeros (one
 * spelling per port), value at most UINT32_MAX. */
static int parse_line(const char *s, size_t n, uint32_t *port, vs_err *err)
{
	static const char verb[] = "CONNECT ";
	size_t vl = sizeof(verb) - 1;
	if (n < vl || memcmp(s, verb, vl) != 0)
		return vs_fail(err, EPROTO, "vsock host connection: expected \"CONNECT <port>\"");
	size_t digits = n - vl;
	if (digits == 0 || digits > 10)
		return vs_fail(err, EPROTO, "vsock host connection: port must be 1-10 digits");
	if (digits > 1 && s[vl] == '0')
		return vs_fail(err, EPROTO, "vsock host connection: port with a leading zero");
	uint64_t v = 0;
	for (size_t i = vl; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return vs_fail(err, EPROTO,
				       "vsock host connection: port is not a decimal number");
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return vs_fail(err, ERANGE, "vsock host connection: port %llu over 4294967295",
			       (unsigned long long)v);
	*port = (uint32_t)v;
	return 0;
}

int vs_vsock_line_feed(vs_vsock_line *l, const void *data, size_t len, size_t *used, uint32_t *port,
		       vs_err *err)
{
	const char *d = data;
	*used = 0;
	for (size_t i = 0; i < len; i++) {
		*used = i + 1;
		if (d[i] == '\n')
			return parse_line(l->buf, l->len, port, err) < 0 ? -1 : 1;
		if (l->len == VS_VSOCK_LINE_MAX - 1)
			return vs_fail(err, EPROTO,
				       "vsock host connection: CONNECT line longer than %d bytes",
				       VS_VSOCK_LINE_MAX - 1);
		l->buf[l->len++] = d[i];
	}
	return 0;
}

size_t vs_vsock_format_ok(char *out, uint32_t port)
{
	return (size_t)snprintf(out, VS_VSOCK_LINE_MAX, "OK %u\n", port);
}
