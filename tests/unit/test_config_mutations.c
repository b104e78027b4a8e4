/* Bad input never crashes the parser: thousands of deterministic mutations
 * of a full config.json (byte flips, truncations, type swaps) must each parse
 * or fail with a message. Run under ASan/UBSan by `make test`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "oci/config.h"
#include "oci/spec.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void parse_any(const char *text)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	/* Mutated capability names produce a warning each: keep stderr quiet. */
	int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, STDERR_FILENO);
	int rc = vs_config_parse(text, "/", &c, &err);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(devnull);
	if (rc == 0) {
		assert_non_null(c);
		vs_config_free(c);
	} else {
		assert_null(c);
		assert_true(err.msg[0] != '\0');
	}
}

static char *full_config(void)
{
	json_object *o = vs_spec_default(false);
	json_object *root;
	json_object_object_get_ex(o, "root", &root);
	json_object_object_add(root, "path", json_object_new_string("/"));
	char *s = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return s;
}

static void test_byte_mutations(void **state)
{
	(void)state;
	char *base = full_config();
	size_t len = strlen(base);
	static const char alphabet[] = "{}[]\":,0-9aZ \\\x01\xff";
	for (int i = 0; i < 4000; i++) {
		char *t = strdup(base);
		int flips = 1 + (int)(next_rand() % 4);
		for (int f = 0; f < flips; f++)
			t[next_rand() % len] = alphabet[next_rand() % (sizeof(alphabet) - 1)];
		if (next_rand() % 5 == 0)
			t[next_rand() % len] = '\0';
		parse_any(t);
		free(t);
	}
	free(base);
}

/* Replace every value in turn by values of every other JSON type. */
static void swap_types(json_object *doc, json_object *node)
{
	static const char *const replacements[] = { "null",  "true",  "-1", "18446744073709551615",
						    "1e309", "\"x\"", "[]", "{}",
						    "[[[]]]" };
	if (json_object_is_type(node, json_type_object)) {
		json_object_object_foreach(node, key, val)
		{
			json_object *saved = json_object_get(val);
			for (size_t r = 0; r < sizeof(replacements) / sizeof(replacements[0]);
			     r++) {
				json_object_object_add(node, key,
						       json_tokener_parse(replacements[r]));
				parse_any(json_object_to_json_string(doc));
			}
			json_object_object_add(node, key, saved);
			swap_types(doc, saved);
		}
	} else if (json_object_is_type(node, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(node); i++) {
			json_object *saved = json_object_get(json_object_array_get_idx(node, i));
			for (size_t r = 0; r < sizeof(replacements) / sizeof(replacements[0]);
			     r++) {
				json_object_array_put_idx(node, i,
							  json_tokener_parse(replacements[r]));
				parse_any(json_object_to_json_string(doc));
			}
			json_object_array_put_idx(node, i, saved);
			swap_types(doc, saved);
		}
	}
}

static void test_type_swaps(void **state)
{
	(void)state;
	char *base = full_config();
	json_object *doc = json_tokener_parse(base);
	assert_non_null(doc);
	swap_types(doc, doc);
	json_object_put(doc);
	free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_mutations),
		cmocka_unit_test(test_type_swaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
