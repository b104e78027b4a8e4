/* net/tcredirect: a tap redirected both ways to a veth, in a private
 * network namespace (unshare), so the host's interfaces are never touched.
 * Needs root; without it the tests are skipped.
 *
 * Also the hidden helper for tests/integration/test_tcredirect.py (not a
 * user-facing command): `test_tcredirect --setup VETH TAP` makes a
 * persistent tap with the redirect in the caller's namespace, and
 * `--teardown VETH TAP` removes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/tcredirect.h"

#define TAP	"vtap0"
#define PROTO_A 0x88b5 /* IEEE local experimental ethertypes */
#define PROTO_B 0x88b6

static bool in_netns;
static vs_err err;

static int sh(const char *cmd)
{
	return system(cmd);
}

/* Output of a command, as one string (static buffer). */
static const char *out(const char *cmd)
{
	static char buf[8192];
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = 0;
	pclose(p);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	if (!in_netns)
		skip();
	assert_int_equal(sh("ip link add va type veth peer name vb && ip link set va up && "
			    "ip link set vb up"),
			 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sh("ip link del va 2>/dev/null; ip link del " TAP " 2>/dev/null");
	return 0;
}

static size_t frame(uint8_t *f, uint16_t proto, const char *payload)
{
	memset(f, 0xff, 6); /* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	uint16_t p = htons(proto);
	memcpy(f + 12, &p, 2);
	size_t n = strlen(payload);
	memcpy(f + 14, payload, n);
	memset(f + 14 + n, 0, 46 - n); /* minimum frame size */
	return 60;
}

/* Read from fd until a frame of `proto` carrying payload shows up, after
 * skip bytes (the tap's virtio_net_hdr); false after a second of nothing. */
static bool wait_frame(int fd, size_t skip, uint16_t proto, const char *payload)
{
	uint8_t buf[2048];
	for (int i = 0; i < 50; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1000) <= 0)
			return false;
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < (ssize_t)(skip + 14 + strlen(payload)))
			continue;
		uint16_t got;
		memcpy(&got, buf + skip + 12, 2);
		if (ntohs(got) == proto && memcmp(buf + skip + 14, payload, strlen(payload)) == 0)
			return true;
	}
	return false;
}

static int packet_socket(const char *dev)
{
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	assert_true(s >= 0);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(dev) };
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* A frame the pod's side sends reaches the VM's tap, and one the VM writes
 * reaches the pod's side. Without the filters neither arrives: the tap and
 * the veth share no bridge or route. */
static void test_frames_both_ways(void **state)
{
	(void)state;
	vs_tc_redirect r;
	assert_int_equal(vs_tc_redirect_setup("va", TAP, false, &r, &err), 0);
	assert_true(r.tap_fd >= 0);
	int peer = packet_socket("vb");
	uint8_t f[64 + sizeof(struct virtio_net_hdr)];

	size_t n = frame(f, PROTO_A, "to-the-vm");
	assert_int_equal(write(peer, f, n), (ssize_t)n);
	assert_true(wait_frame(r.tap_fd, sizeof(struct virtio_net_hdr), PROTO_A, "to-the-vm"));

	memset(f, 0, sizeof(struct virtio_net_hdr)); /* no offloads */
	n = frame(f + sizeof(struct virtio_net_hdr), PROTO_B, "from-the-vm");
	assert_int_equal(write(r.tap_fd, f, n + sizeof(struct virtio_net_hdr)),
			 (ssize_t)(n + sizeof(struct virtio_net_hdr)));
	assert_true(wait_frame(peer, 0, PROTO_B, "from-the-vm"));

	close(peer);
	assert_int_equal(vs_tc_redirect_teardown(&r, &err), 0);
}

static void test_filters_and_cleanup(void **state)
{
	(void)state;
	vs_tc_redirect r;
	assert_int_equal(vs_tc_redirect_setup("va", TAP, true, &r, &err), 0);
	assert_int_equal(r.tap_fd, -1);
	assert_true(if_nametoindex(TAP) > 0); /* persistent: no fd holds it */
	const char *s = out("tc filter show dev va ingress");
	assert_non_null(strstr(s, "u32"));
	assert_non_null(strstr(s, "match 00000000/00000000 at 0"));
	assert_non_null(strstr(s, "mirred (Egress Redirect to device " TAP ")"));
	s = out("tc filter show dev " TAP " ingress");
	assert_non_null(strstr(s, "mirred (Egress Redirect to device va)"));
	assert_non_null(strstr(out("tc qdisc show dev va"), "ingress"));

	assert_int_equal(vs_tc_redirect_teardown(&r, &err), 0);
	assert_int_equal(if_nametoindex(TAP), 0);
	assert_null(strstr(out("tc qdisc show dev va"), "ingress"));
	assert_true(if_nametoindex("va") > 0); /* the veth stays */
}

static void test_errors(void **state)
{
	(void)state;
	vs_tc_redirect r;
	assert_int_equal(vs_tc_redirect_setup("nope", TAP, false, &r, &err), -1);
	assert_non_null(strstr(err.msg, "veth nope"));
	assert_int_equal(vs_tc_redirect_setup("va", "a-name-far-too-long", false, &r, &err), -1);
	assert_non_null(strstr(err.msg, "tap name"));

	/* The attack: a tap name that already exists (here the veth's peer).
	 * TUNSETIFF would attach to it, and teardown would then delete a device
	 * vessel never made. Refused, and nothing is left behind. */
	assert_int_equal(vs_tc_redirect_setup("va", "vb", false, &r, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_true(if_nametoindex("vb") > 0);
	assert_null(strstr(out("tc qdisc show dev va"), "ingress"));

	/* An ingress qdisc someone else put on the veth is not ours to remove. */
	assert_int_equal(sh("tc qdisc add dev va ingress"), 0);
	assert_int_equal(vs_tc_redirect_setup("va", TAP, false, &r, &err), -1);
	assert_non_null(strstr(err.msg, "add the ingress qdisc of va"));
	assert_int_equal(if_nametoindex(TAP), 0);
	assert_non_null(strstr(out("tc qdisc show dev va"), "ingress"));
}

static int helper(const char *mode, const char *veth, const char *tap)
{
	vs_tc_redirect r = { .tap_fd = -1 };
	int rc;
	if (strcmp(mode, "--setup") == 0) {
		rc = vs_tc_redirect_setup(veth, tap, true, &r, &err);
	} else if (strcmp(mode, "--teardown") == 0) {
		r.veth_ifindex = (int)if_nametoindex(veth);
		r.tap_ifindex = (int)if_nametoindex(tap);
		r.veth_qdisc = r.veth_ifindex > 0;
		rc = vs_tc_redirect_teardown(&r, &err);
	} else {
		fprintf(stderr, "usage: test_tcredirect [--setup|--teardown VETH TAP]\n");
		return 2;
	}
	if (rc < 0)
		fprintf(stderr, "test_tcredirect: %s\n", err.msg);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 4)
		return helper(argv[1], argv[2], argv[3]);
	if (argc != 1)
		return helper("", "", "");
	in_netns = geteuid() == 0 && unshare(CLONE_NEWNET) == 0;
	if (in_netns)
		sh("ip link set lo up");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_frames_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(test_filters_and_cleanup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
