/* Running from a sealed copy of ourselves (the CVE-2019-5736 defence).
 *
 * A container process can reach the binary of any process in its pid
 * namespace through /proc/PID/exe, and its own through /proc/self/exe while
 * the container init is still vessel. If that binary is the host's vessel, a
 * hostile image can reopen it for writing once vessel exits and replace the
 * runtime. So every command that runs container-side code first re-executes
 * itself from a memfd copy sealed against writes, growth and shrinking: all
 * the container can reach is that copy, which nothing can modify. */
#ifndef VESSEL_CORE_SEALED_EXE_H
#define VESSEL_CORE_SEALED_EXE_H

#include <stdbool.h>

#include "core/error.h"

/* True when /proc/self/exe is a memfd with every write seal set. */
bool vs_self_is_sealed(void);

/* Unless already sealed, copy /proc/self/exe into a sealed memfd and
 * fexecve it with argv and the current environment. Returns 0 when already
 * sealed; on failure -1 with err (it never returns on success). */
int vs_reexec_sealed(char *const argv[], vs_err *err);

#endif
