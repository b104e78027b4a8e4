/* The host side of virtio-net: parse `--net tap=NAME|fd=N[,mac=MAC]`, attach
 * to (or create) the tap or take the caller's fd, and set it up for the
 * device: non-blocking, close-on-exec, a 12-byte vnet header, no offloads
 * until a driver asks for some (virtio/net.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "vm/virtio/net.h"

#define HDR_LEN 12

static int parse_mac(const char *s, uint8_t mac[6], vs_err *err)
{
	unsigned v[6];
	char end;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    strlen(s) != 17)
		return vs_fail(err, EINVAL, "--net: mac=%s: want xx:xx:xx:xx:xx:xx", s);
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	if (mac[0] & 1)
		return vs_fail(err, EINVAL, "--net: mac=%s: a multicast address", s);
	return 0;
}

/* Attach to tap `name` (made if absent; then it is not persistent and goes
 * away with our fd) or take the caller's fd. */
static int open_tap(const char *name, int given, vs_err *err)
{
	struct ifreq ifr = { 0 };
	int fd = given;
	if (fd < 0) {
		if (!*name || strlen(name) >= IFNAMSIZ)
			return vs_fail(err, EINVAL, "--net: tap=%s: 1-%d bytes", name,
				       IFNAMSIZ - 1);
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			return vs_fail_errno(err, "--net: open /dev/net/tun");
		memcpy(ifr.ifr_name, name, strlen(name));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			int e = errno;
			close(fd);
			return vs_fail(err, e, "--net: tap=%s: TUNSETIFF", name);
		}
	} else {
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return vs_fail_errno(err, "--net: fd=%d: not a tap (TUNGETIFF)", fd);
		if ((ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)) !=
		    (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR))
			return vs_fail(err, EINVAL,
				       "--net: fd=%d: not opened IFF_TAP|IFF_NO_PI|IFF_VNET_HDR",
				       fd);
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return vs_fail_errno(err, "--net: fd=%d: fcntl", fd);
	}
	int hdr = HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		int e = errno;
		if (given < 0)
			close(fd);
		return vs_fail(err, e, "--net: tap: TUNSETVNETHDRSZ/TUNSETOFFLOAD");
	}
	return fd;
}

/* "tap=NAME[,mac=MAC]" or "fd=N[,mac=MAC]". */
int vs_net_tap_open(const char *spec, uint8_t mac_out[6], vs_err *err)
{
	char *copy = strdup(spec);
	if (!copy)
		return vs_fail(err, ENOMEM, "--net");
	char *tap = NULL, *save = NULL;
	int fd = -1, rc = 0;
	bool mac = false;
	for (char *kv = strtok_r(copy, ",", &save); kv && !rc; kv = strtok_r(NULL, ",", &save)) {
		if (!strncmp(kv, "tap=", 4) && !tap && fd < 0) {
			tap = kv + 4;
		} else if (!strncmp(kv, "fd=", 3) && !tap && fd < 0) {
			char *end;
			long v = strtol(kv + 3, &end, 10);
			if (!kv[3] || *end || v < 3 || v > 1 << 20)
				rc = vs_fail(err, EINVAL, "--net: %s: want a number >= 3", kv);
			fd = (int)v;
		} else if (!strncmp(kv, "mac=", 4) && !mac) {
			rc = parse_mac(kv + 4, mac_out, err);
			mac = true;
		} else {
			rc = vs_fail(err, EINVAL,
				     "--net: \"%s\": want tap=NAME or fd=N, then mac=MAC", kv);
		}
	}
	if (!rc && !tap && fd < 0)
		rc = vs_fail(err, EINVAL, "--net %s: tap=NAME or fd=N is required", spec);
	if (!rc && !mac) {
		/* Locally administered unicast, random per VM. */
		if (getrandom(mac_out, 6, 0) != 6)
			memset(mac_out, 0x5a, 6);
		mac_out[0] = (uint8_t)((mac_out[0] & 0xfe) | 0x02);
	}
	if (!rc)
		rc = open_tap(tap ? tap : "", fd, err);
	free(copy);
	return rc;
}
