/* libFuzzer target: linux.seccomp parsing must never crash on any input.
 * The input is the seccomp object itself (seeds: tests/fuzz/corpus/seccomp,
 * podman's default profile as podman hands it to the runtime among them).
 * Build and run: make build-fuzz/fuzz_seccomp &&
 *   build-fuzz/fuzz_seccomp -max_total_time=60 NEWDIR tests/fuzz/corpus/seccomp */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "oci/seccomp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return 0;
	json_object *v = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (!v)
		return 0;
	json_object *parent = json_object_new_object();
	json_object_object_add(parent, "seccomp", v);
	vs_seccomp *s = NULL;
	vs_err err = { 0 };
	if (vs_seccomp_parse(parent, "config.json: linux", &s, &err) == 0)
		vs_seccomp_free(s);
	json_object_put(parent);
	return 0;
}
