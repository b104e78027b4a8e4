/* Running from a sealed copy of ourselves (the CVE-2019-5736 defence).
 *
 * A container process can reach the binary of any process in its pid
 * namespace through /proc/PID/exe, and its own through /proc/self/exe while
 * the container init is still vessel. If that is the host's vessel file, a
 * hostile image can reopen it for writing once vessel exits and replace the
 * runtime. So every command that runs container-side code first re-executes
 * itself from a copy that nothing can write:
 *
 * - preferred, zero-copy (runc 1.2 does the same): the binary as seen through
 *   a detached, read-only overlayfs whose only layers are lower layers (the
 *   binary's directory on top of a spare directory). Such an overlay has no
 *   upper layer to write to at all, and a detached mount appears in no mount
 *   table, so it cannot be remounted;
 * - otherwise: a memfd copy sealed against writes, growth and shrinking. */
#ifndef VESSEL_CORE_SEALED_EXE_H
#define VESSEL_CORE_SEALED_EXE_H

#include <stdbool.h>

#include "core/error.h"

/* True when /proc/self/exe is one of the two sealed forms above. */
bool vs_self_is_sealed(void);

/* Unless already sealed, re-execute /proc/self/exe from a sealed form with
 * argv and the current environment. spare_dir is an existing directory that
 * does not overlap the binary's (vessel's state root): overlayfs needs a
 * second lower layer. Returns 0 when already sealed; -1 with err on failure
 * (it never returns on success). */
int vs_reexec_sealed(char *const argv[], const char *spare_dir, vs_err *err);

#endif
