/* Logging to stderr and, with --log, to a file in text or JSON lines
 * (containerd and podman read the runtime's log as JSON: level, msg, time). */
#ifndef VESSEL_CORE_LOG_H
#define VESSEL_CORE_LOG_H

#include <stdbool.h>

enum vs_log_level { VS_LOG_ERROR = 0, VS_LOG_WARN, VS_LOG_INFO, VS_LOG_DEBUG };

typedef enum vs_log_format { VS_LOG_TEXT = 0, VS_LOG_JSON } vs_log_format;

/* path may be NULL (stderr only). Returns -1 with errno if the file cannot be opened. */
int vs_log_init(const char *path, vs_log_format format, bool debug);
void vs_log_close(void);

void vs_log(enum vs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define vs_error(...) vs_log(VS_LOG_ERROR, __VA_ARGS__)
#define vs_warn(...)  vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_info(...)  vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_debug(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)

#endif
