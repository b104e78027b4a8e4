/* Legacy PC devices: 8250 UART (ttyS0), the i8042's reset line, and the
 * power-management ports (ACPI PM1 control, 0xcf9 reset, debug exit). */
#ifndef VESSEL_VM_DEV_H
#define VESSEL_VM_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "vm/internal.h"

struct vs_serial;
int vs_serial_create(vs_vm *vm, vs_err *err);
void vs_serial_destroy(struct vs_serial *s);
/* Bytes from the host for the guest; returns how many were taken. */
size_t vs_serial_input(struct vs_serial *s, const uint8_t *buf, size_t len);
size_t vs_serial_room(struct vs_serial *s);

int vs_i8042_create(vs_vm *vm, vs_err *err);
int vs_power_create(vs_vm *vm, vs_err *err);

#endif
