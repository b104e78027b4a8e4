#include "core/log.h"

#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int log_fd = -1;
static vs_log_format log_format = VS_LOG_TEXT;
static bool log_debug;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

int vs_log_init(const char *path, vs_log_format format, bool debug)
{
	log_format = format;
	log_debug = debug;
	if (!path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
	return 0;
}

void vs_log_close(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

static void format_time(char *buf, size_t len)
{
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06ldZ", (long)tv.tv_usec);
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, s, len);
		if (w <= 0)
			return;
		s += w;
		len -= (size_t)w;
	}
}

void vs_log(enum vs_log_level level, const char *fmt, ...)
{
	if (level == VS_LOG_DEBUG && !log_debug)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	/* Errors and warnings always reach stderr: a user without --log must see them. */
	if (level <= VS_LOG_WARN || log_debug) {
		char line[2200];
		int n = snprintf(line, sizeof(line), "vessel: %s%s\n",
				 level == VS_LOG_WARN ? "warning: " : "", msg);
		if (n > 0)
			write_all(STDERR_FILENO, line,
				  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
	if (log_fd < 0)
		return;

	char ts[64];
	format_time(ts, sizeof(ts));
	if (log_format == VS_LOG_JSON) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "level", json_object_new_string(level_names[level]));
		json_object_object_add(o, "msg", json_object_new_string(msg));
		json_object_object_add(o, "time", json_object_new_string(ts));
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		write_all(log_fd, s, strlen(s));
		write_all(log_fd, "\n", 1);
		json_object_put(o);
	} else {
		char line[2300];
		int n = snprintf(line, sizeof(line), "time=\"%s\" level=%s msg=\"%s\"\n", ts,
				 level_names[level], msg);
		if (n > 0)
			write_all(log_fd, line,
				  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	}
}
