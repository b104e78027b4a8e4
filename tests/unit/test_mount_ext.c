/* Mount option extensions (oci/mount_ext.c): tmpcopyup, copy-symlink,
 * idmap/ridmap, mounts[].uidMappings, crun's idmap=uids=..., engine-side
 * options, and the ones refused by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci/config.h"

#define HEAD                                                                                       \
	"{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"/"                                         \
	"\"},\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\"},"
#define USERNS                                                                                     \
	"\"linux\":{\"namespaces\":[{\"type\":\"user\"}],"                                         \
	"\"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"                  \
	"\"gidMappings\":[{\"containerID\":0,\"hostID\":200000,\"size\":65536}]}"
#define BIND(opts)                                                                                 \
	"{\"destination\":\"/v\",\"type\":\"bind\",\"source\":\"/tmp\",\"options\":[" opts "]}"
#define TMPFS(opts)                                                                                \
	"{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[" opts "]" \
	"}"

static vs_config *parse_ok(const char *json)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	int rc = vs_config_parse(json, "/", &c, &err);
	if (rc != 0)
		print_error("unexpected error: %s\n", err.msg);
	assert_int_equal(rc, 0);
	return c;
}

static void expect_error(const char *json, const char *fragment)
{
	vs_config *c = NULL;
	vs_err err = { 0 };
	assert_int_equal(vs_config_parse(json, "/", &c, &err), -1);
	assert_null(c);
	if (!strstr(err.msg, fragment))
		print_error("message \"%s\" lacks \"%s\"\n", err.msg, fragment);
	assert_non_null(strstr(err.msg, fragment));
}

static void assert_map(const vs_idmap *m, uint32_t c, uint32_t h, uint32_t s)
{
	assert_int_equal(m->container_id, c);
	assert_int_equal(m->host_id, h);
	assert_int_equal(m->size, s);
}

static void test_tmpcopyup(void **state)
{
	(void)state;
	vs_config *c = parse_ok(
		HEAD "\"mounts\":[" TMPFS("\"nosuid\",\"tmpcopyup\",\"size=1k\"") "," TMPFS(
			"\"tmpcopyup\",\"notmpcopyup\"") "]}");
	assert_true(c->mounts[0].tmpcopyup);
	/* An extension is not filesystem data; the options are kept for messages. */
	assert_string_equal(c->mounts[0].data, "size=1k");
	assert_string_equal(c->mounts[0].options, "nosuid,tmpcopyup,size=1k");
	assert_false(c->mounts[1].tmpcopyup);
	assert_null(c->mounts[1].data);
	vs_config_free(c);
	expect_error(HEAD "\"mounts\":[" BIND("\"rbind\",\"tmpcopyup\"") "]}",
		     "mounts[0].options: \"tmpcopyup\" applies to tmpfs only");
}

static void test_copy_symlink(void **state)
{
	(void)state;
	vs_config *c = parse_ok(HEAD "\"mounts\":[" BIND("\"bind\",\"copy-symlink\"") "]}");
	assert_true(c->mounts[0].copy_symlink);
	vs_config_free(c);
	expect_error(HEAD "\"mounts\":[" TMPFS("\"copy-symlink\"") "]}",
		     "\"copy-symlink\" applies to bind mounts only");
}

static void test_idmap_takes_the_container_mappings(void **state)
{
	(void)state;
	vs_config *c = parse_ok(HEAD "\"mounts\":[" BIND("\"rbind\",\"idmap\"") "," BIND(
		"\"rbind\",\"ridmap\"") "," BIND("\"rbind\"") "]," USERNS "}");
	vs_mount *m = c->mounts;
	assert_true(m[0].idmap);
	assert_false(m[0].idmap_recursive);
	assert_true(m[1].idmap);
	assert_true(m[1].idmap_recursive);
	assert_false(m[2].idmap);
	assert_int_equal(m[0].n_uid_mappings, 1);
	assert_map(&m[0].uid_mappings[0], 0, 100000, 65536);
	assert_map(&m[1].gid_mappings[0], 0, 200000, 65536);
	vs_config_free(c);
}

static void test_mount_mappings(void **state)
{
	(void)state;
	vs_config *c = parse_ok(
		HEAD "\"mounts\":[{\"destination\":\"/v\",\"type\":\"bind\",\"source\":\"/tmp\","
		     "\"options\":[\"rbind\"],"
		     "\"uidMappings\":[{\"containerID\":0,\"hostID\":5,\"size\":2}],"
		     "\"gidMappings\":[{\"containerID\":1,\"hostID\":6,\"size\":3}]}]}");
	/* Mappings alone make it idmapped; no user namespace is needed. */
	assert_true(c->mounts[0].idmap);
	assert_map(&c->mounts[0].uid_mappings[0], 0, 5, 2);
	assert_map(&c->mounts[0].gid_mappings[0], 1, 6, 3);
	vs_config_free(c);
	expect_error(HEAD "\"mounts\":[{\"destination\":\"/v\",\"type\":\"bind\",\"source\":\"/"
			  "tmp\",\"uidMappings\":[{\"containerID\":0,\"hostID\":5,\"size\":1}]}]}",
		     "mounts[0].gidMappings: required with uidMappings");
	expect_error(HEAD "\"mounts\":[{\"destination\":\"/v\",\"type\":\"bind\",\"source\":\"/"
			  "tmp\",\"uidMappings\":[{\"containerID\":0,\"hostID\":5}]}]}",
		     "mounts[0].uidMappings[0]: containerID, hostID and size are required");
	expect_error(HEAD "\"mounts\":[{\"destination\":\"/v\",\"type\":\"tmpfs\","
			  "\"uidMappings\":[{\"containerID\":0,\"hostID\":5,\"size\":1}],"
			  "\"gidMappings\":[{\"containerID\":0,\"hostID\":5,\"size\":1}]}]}",
		     "mounts[0].options: idmapped mounts are bind mounts only");
}

static void test_crun_idmap_form(void **state)
{
	(void)state;
	vs_config *c = parse_ok(HEAD "\"mounts\":[" BIND(
		"\"rbind\",\"idmap=uids=0-1000-10#10-2000-5;gids=@0-7-1\"") "]," USERNS "}");
	vs_mount *m = c->mounts;
	assert_true(m->idmap);
	assert_int_equal(m->n_uid_mappings, 2);
	assert_map(&m->uid_mappings[0], 0, 1000, 10);
	assert_map(&m->uid_mappings[1], 10, 2000, 5);
	/* '@': 7 is a container gid, 200007 on the host. */
	assert_int_equal(m->n_gid_mappings, 1);
	assert_map(&m->gid_mappings[0], 0, 200007, 1);
	vs_config_free(c);
	c = parse_ok(HEAD "\"mounts\":[" BIND("\"rbind\",\"ridmap=uids=0-1-1;gids=0-2-1\"") "]}");
	assert_true(c->mounts[0].idmap_recursive);
	vs_config_free(c);
}

static void test_crun_idmap_form_errors(void **state)
{
	(void)state;
	static const char *bad[][2] = {
		{ "idmap=uids=0-1", "expected ID-HOSTID-SIZE triplets" },
		{ "idmap=uids=0-1-2-3;gids=0-1-1", "trailing \"-3\"" },
		{ "idmap=uids=a-1-2;gids=0-1-1", "expected ID-HOSTID-SIZE triplets" },
		{ "idmap=uids=0-1-0;gids=0-1-1", "bad mapping size" },
		{ "idmap=uids=0-4294967295-2;gids=0-1-1", "bad mapping size" },
		{ "idmap=uids=0-99999999999-1;gids=0-1-1", "id out of range" },
		{ "idmap=uids=0-1-1;uids=0-1-1", "uids given twice" },
		{ "idmap=users=0-1-1", "expected uids=... or gids=..." },
		{ "idmap=uids=@0-70000-1;gids=0-1-1", "not inside the container's user namespace" },
		{ "idmap=uids=0-1-1", "gidMappings: required with uidMappings" },
		{ "idmap=", "\"idmap=\": no mappings" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char json[1024];
		snprintf(json, sizeof(json),
			 HEAD "\"mounts\":[" BIND("\"rbind\",\"%s\"") "]," USERNS "}", bad[i][0]);
		expect_error(json, bad[i][1]);
	}
}

static void test_idmap_needs_a_mapping(void **state)
{
	(void)state;
	expect_error(HEAD "\"mounts\":[" BIND("\"rbind\",\"idmap\"") "]}",
		     "mounts[0].options: idmap needs uidMappings/gidMappings or a user namespace");
	expect_error(HEAD "\"mounts\":[" BIND(
			     "\"rbind\",\"idmap\"") "],"
						    "\"linux\":{\"namespaces\":[{\"type\":"
						    "\"mount\",\"path\":\"/proc/1/ns/"
						    "mnt\"},{\"type\":\"user\",\"path\":\"/proc/1/"
						    "ns/user\"}]}}",
		     "joined mount namespace");
	/* A joined user namespace is the mapping: nothing to copy. */
	vs_config *c = parse_ok(HEAD "\"mounts\":[" BIND(
		"\"rbind\",\"idmap\"") "],"
				       "\"linux\":{\"namespaces\":[{\"type\":\"user\",\"path\":\"/"
				       "proc/"
				       "1/ns/user\"}]}}");
	assert_true(c->mounts[0].idmap);
	assert_int_equal(c->mounts[0].n_uid_mappings, 0);
	vs_config_free(c);
}

static void test_engine_side_and_refused(void **state)
{
	(void)state;
	vs_config *c = parse_ok(HEAD "\"mounts\":[" BIND("\"rbind\",\"z\",\"Z\",\"U\"") "]}");
	assert_null(c->mounts[0].data);
	vs_config_free(c);
	expect_error(HEAD "\"mounts\":[" BIND("\"rbind\",\"src-nofollow\"") "]}",
		     "mounts[0].options: \"src-nofollow\": crun's no-follow bind source is not "
		     "supported");
	expect_error(HEAD "\"mounts\":[" BIND("\"rbind\",\"dest-nofollow\"") "]}",
		     "\"dest-nofollow\"");
	expect_error(HEAD "\"mounts\":[" BIND("\"rbind\",\"O\"") "]}", "\"O\": a podman overlay");
	/* A bind mount takes no data: an unknown word there is a mistake. */
	expect_error(HEAD "\"mounts\":[" BIND("\"rbind\",\"nocopy\"") "]}",
		     "mounts[0].options: \"nocopy\" is not a mount flag, and a bind mount takes no "
		     "filesystem data");
	/* On a filesystem it is data, for the kernel to judge. */
	c = parse_ok(HEAD "\"mounts\":[" TMPFS("\"bogus\"") "]}");
	assert_string_equal(c->mounts[0].data, "bogus");
	vs_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tmpcopyup),
		cmocka_unit_test(test_copy_symlink),
		cmocka_unit_test(test_idmap_takes_the_container_mappings),
		cmocka_unit_test(test_mount_mappings),
		cmocka_unit_test(test_crun_idmap_form),
		cmocka_unit_test(test_crun_idmap_form_errors),
		cmocka_unit_test(test_idmap_needs_a_mapping),
		cmocka_unit_test(test_engine_side_and_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
