/* HOME for the container process, as runc and crun set it: from the
 * user's entry in the image's /etc/passwd when process.env lacks one. */
#ifndef VESSEL_CONTAINER_HOME_ENV_H
#define VESSEL_CONTAINER_HOME_ENV_H

#include <sys/types.h>

#include "core/error.h"

/* The home directory of uid in root_fd's /etc/passwd (resolved inside
 * root_fd, never following a link out of it) into out; "/" when there is
 * no such file or entry. Fails only on a read error or a hostile file. */
int vs_home_of_uid(int root_fd, uid_t uid, char *out, size_t len, vs_err *err);

/* env plus "HOME=<home of uid>" if env has no HOME; *out is NULL (use env
 * as is) or a new NULL-terminated array to free with vs_strv_free. */
int vs_env_with_home(char *const *env, int root_fd, uid_t uid, char ***out, vs_err *err);

#endif
