/* Moving interfaces between network namespaces with one RTM_NEWLINK each
 * (IFLA_NET_NS_FD + IFLA_IFNAME: move and rename in one step, as
 * `ip link set DEV netns NS name NEW` does; core/rtnl.h). */
#include "container/netdev.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/rtnl.h"
#include "core/proc.h"
#include "lifecycle/container.h"

#define RECORD "netdevs.json"

int vs_netdev_check(const vs_netdevs *d, vs_err *err)
{
	for (size_t i = 0; i < d->n; i++)
		if (!if_nametoindex(d->v[i].host_name))
			return vs_fail_errno(err, "config.json: linux.netDevices.%s: host device",
					     d->v[i].host_name);
	return 0;
}

static int save_record(const char *state_dir, const vs_netdevs *d, vs_err *err)
{
	char file[PATH_MAX];
	if (vs_path_join(file, sizeof(file), state_dir, RECORD, err) < 0)
		return -1;
	/* The interface index identifies the device: names inside the container
	 * are the container's to change (it could rename ours away and make a
	 * device of its own with the recorded name for us to hand the host). The
	 * index survives the move into a fresh namespace (only lo is there). */
	json_object *o = json_object_new_object();
	for (size_t i = 0; i < d->n; i++)
		json_object_object_add(o, d->v[i].host_name,
				       json_object_new_int((int)if_nametoindex(d->v[i].host_name)));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int rc = vs_write_file_atomic(file, s, strlen(s), 0600, err);
	json_object_put(o);
	return rc;
}

int vs_netdev_attach(const char *state_dir, const vs_netdevs *d, pid_t pid, vs_err *err)
{
	if (!d->n)
		return 0;
	/* Recorded first: a create that dies half way still gets them back. */
	if (save_record(state_dir, d, err) < 0)
		return -1;
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
	vs_autoclose int ns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return vs_fail_errno(err, "open %s", ns);
	vs_autoclose int nl = vs_rtnl_open(err);
	if (nl < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < d->n && rc == 0; i++) {
		const vs_netdev *dev = &d->v[i];
		int idx = (int)if_nametoindex(dev->host_name);
		rc = !idx ? vs_fail_errno(err, "host device")
			  : vs_rtnl_move_link(nl, idx, ns_fd, dev->name, err);
		if (rc < 0)
			vs_err_wrap(err, "linux.netDevices.%s", dev->host_name);
	}
	return rc;
}

/* Indexes (in the container's namespace) of the recorded devices and a
 * netlink socket there: both taken while we are inside it. */
static int enter_and_find(int ns_fd, json_object *rec, int *idx, vs_err *err)
{
	vs_autoclose int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return vs_fail_errno(err, "open /proc/self/ns/net");
	if (setns(ns_fd, CLONE_NEWNET) < 0)
		return vs_fail_errno(err, "enter the container's network namespace");
	int i = 0;
	json_object_object_foreach(rec, host, ifindex)
	{
		(void)host;
		char name[IF_NAMESIZE];
		int want = json_object_is_type(ifindex, json_type_int)
				   ? json_object_get_int(ifindex)
				   : 0;
		/* Still there under that index, whatever the container named it. */
		idx[i++] = want > 0 && if_indextoname((unsigned)want, name) ? want : 0;
	}
	int nl = vs_rtnl_open(err);
	if (setns(self, CLONE_NEWNET) < 0) {
		/* Never go on in the container's namespace. */
		vs_fail_errno(err, "return to the runtime's network namespace");
		if (nl >= 0)
			close(nl);
		return -1;
	}
	return nl;
}

int vs_netdev_detach(const char *state_dir, pid_t pid, uint64_t start_time, vs_err *err)
{
	char file[PATH_MAX], ns[64];
	if (vs_path_join(file, sizeof(file), state_dir, RECORD, err) < 0)
		return -1;
	vs_autofree char *text = NULL;
	if (vs_read_file(file, &text, NULL, NULL) < 0)
		return 0; /* nothing moved */
	json_object *rec = json_tokener_parse(text);
	if (!rec || !json_object_is_type(rec, json_type_object)) {
		json_object_put(rec);
		return vs_fail(err, 0, "%s: not a device record", file);
	}
	int rc = 0;
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
	vs_autoclose int ns_fd = open(ns, O_RDONLY | O_CLOEXEC);
	vs_autoclose int host_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	/* Checked after the open: the namespace is the recorded process's (an
	 * init that is exiting still holds it, and its devices with it). */
	uint64_t st = 0;
	if (ns_fd < 0 || host_fd < 0 || !start_time || vs_proc_stat(pid, &st, NULL) < 0 ||
	    st != start_time)
		goto out;
	int n = json_object_object_length(rec);
	int *idx = calloc((size_t)(n ? n : 1), sizeof(int));
	int nl = idx ? enter_and_find(ns_fd, rec, idx, err) : -1;
	if (nl < 0) {
		rc = idx ? -1 : vs_fail(err, ENOMEM, "%s", file);
		free(idx);
		goto out;
	}
	int i = 0;
	json_object_object_foreach(rec, host, ifindex)
	{
		(void)ifindex;
		vs_err e = { 0 };
		/* The record is read back from disk: only interface names. */
		if (!idx[i])
			vs_warn("linux.netDevices.%s: not in the container any more (by its "
				"interface index); not handed back",
				host);
		else if (vs_netdev_name_ok(host) &&
			 vs_rtnl_move_link(nl, idx[i], host_fd, host, &e) < 0)
			rc = vs_fail(err, 0, "linux.netDevices.%s: back to the host: %s", host,
				     e.msg);
		i++;
	}
	close(nl);
	free(idx);
	/* Handed back: a second detach (create's own cleanup, then the
	 * lifecycle's) has nothing left to do. */
	if (rc == 0)
		unlink(file);
out:
	json_object_put(rec);
	return rc;
}

int vs_container_detach(vs_container *c, vs_err *err)
{
	return vs_netdev_detach(c->dir, c->state.pid, c->state.start_time, err);
}
