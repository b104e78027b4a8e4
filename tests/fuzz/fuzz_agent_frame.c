/* libFuzzer target for the agent frame decoder (agent/frame.h): the input
 * is a byte stream fed in chunks whose sizes come from the input itself.
 * Nothing may crash or leak; every frame it yields is a JSON object, the
 * decoder never consumes more than it is fed, and re-encoding a decoded
 * frame decodes to the same text.
 *   make build-fuzz/fuzz_agent_frame && build-fuzz/fuzz_agent_frame -max_total_time=60 \
 *	tests/fuzz/corpus/agent_frame
 * tests/unit/test_agent_frame.c includes this file and replays random
 * streams through it under ASan. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_check(json_object *obj)
{
	if (!json_object_is_type(obj, json_type_object))
		abort();
	char *buf = NULL;
	size_t len = 0;
	vs_err err = { 0 };
	if (vs_agent_frame_encode(obj, &buf, &len, &err) < 0)
		return; /* a decoded frame may re-encode longer (escapes) */
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	json_object *again = NULL;
	size_t used = 0;
	if (vs_agent_decoder_feed(&d, buf, len, &used, &again, &err) != 1 || used != len)
		abort();
	if (strcmp(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN),
		   json_object_to_json_string_ext(again, JSON_C_TO_STRING_PLAIN)))
		abort();
	json_object_put(again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* The first byte picks the chunk size: 1..256 bytes per feed. */
	size_t chunk = (size_t)data[0] + 1;
	data++;
	size--;
	vs_agent_decoder d;
	vs_agent_decoder_init(&d);
	size_t at = 0;
	while (at < size) {
		size_t n = size - at < chunk ? size - at : chunk;
		size_t used = 0;
		json_object *obj = NULL;
		vs_err err = { 0 };
		int r = vs_agent_decoder_feed(&d, data + at, n, &used, &obj, &err);
		if (used > n)
			abort();
		at += used;
		if (r < 0) {
			if (!err.msg[0])
				abort();
			vs_agent_decoder_reset(&d);
			continue;
		}
		if (r == 1) {
			fz_check(obj);
			json_object_put(obj);
		} else if (used != n) {
			abort();
		}
	}
	vs_agent_decoder_reset(&d);
	return 0;
}
