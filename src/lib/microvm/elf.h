/* The little of ELF the guest's files need: whether a program is static
 * (the initramfs's /init runs before any loader exists) and a kernel
 * module's .modinfo fields (its dependencies). 64-bit little-endian only. */
#ifndef VESSEL_MICROVM_ELF_H
#define VESSEL_MICROVM_ELF_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

/* Fails, naming path, unless it is an ELF64 executable without PT_INTERP. */
int vs_elf_check_static(const char *path, vs_err *err);

/* *out: the value of "key=" in the .modinfo section of the module at path
 * (malloc'd; "" when the key is absent). */
int vs_elf_modinfo(const char *path, const char *key, char **out, vs_err *err);

#endif
