/* libFuzzer target: config.json parsing must never crash on any input.
 * Seeds: tests/fuzz/corpus/config (make fuzz; build-fuzz/fuzz_config NEWDIR tests/fuzz/corpus/config).
 * Build and run: make fuzz && build-fuzz/fuzz_config -max_total_time=60 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	vs_config *c = NULL;
	vs_err err = { 0 };
	if (vs_config_parse(text, "/", &c, &err) == 0)
		vs_config_free(c);
	free(text);
	return 0;
}
