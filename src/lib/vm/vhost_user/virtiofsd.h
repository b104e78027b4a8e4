/* Starting and stopping the virtiofsd that serves `vessel vm run --fs`.
 *
 * The socket: vessel binds a unix socket in a fresh 0700 directory, listens,
 * connects to it itself, then unlinks the socket and removes the directory
 * before virtiofsd even starts, and hands virtiofsd the listening fd
 * (--fd=N). virtiofsd accepts the one queued connection, which is ours. So
 * no socket file exists beyond those few system calls, nothing is left
 * however vessel ends, and virtiofsd writes no pidfile (it does for
 * --socket-path).
 *
 * The process: PR_SET_PDEATHSIG(SIGKILL), so it dies with vessel even when
 * vessel is SIGKILLed (virtiofsd's own sandbox child has a death signal on
 * it in turn); its own namespace sandbox; and for a read-only share, a
 * private mount namespace in which DIR is bind-mounted read-only onto
 * itself before exec, since QEMU 7.2's virtiofsd has no read-only option. */
#ifndef VESSEL_VM_VHOST_USER_VIRTIOFSD_H
#define VESSEL_VM_VHOST_USER_VIRTIOFSD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

#define VS_VIRTIOFSD_PATH "/usr/lib/qemu/virtiofsd"

typedef struct vs_virtiofsd {
	pid_t pid; /* 0: not running */
} vs_virtiofsd;

/* Start bin (NULL: VS_VIRTIOFSD_PATH) sharing dir; *conn is our end of the
 * vhost-user connection. Must run on a thread that outlives the VM (the
 * death signal follows the thread that forked). */
int vs_virtiofsd_start(vs_virtiofsd *v, const char *bin, const char *dir, bool readonly, int *conn,
		       vs_err *err);
/* For the microvm backend: serve a detached mount tree (tree_fd, from
 * open_tree(OPEN_TREE_CLONE) in a container's mount namespace, so the
 * container's root with its volumes) in virtiofsd's own mount namespace,
 * where it is moved onto mnt (an empty directory; the host's mount table
 * never shows it). The process is not our child for long (the caller,
 * `vessel create`, exits): it has no death signal, its own session, and
 * ends when the other end of *conn closes (the monitor's). Its stdout and
 * stderr go to log_fd (not the caller's, which are the workload's stdio),
 * its stdin is /dev/null. place (may be NULL) runs with the child's pid
 * before it execs (the child waits for it), to move it into cgroups;
 * when it fails the child is killed. *pid: virtiofsd. */
typedef int (*vs_virtiofsd_place_fn)(void *arg, pid_t pid, vs_err *err);
int vs_virtiofsd_start_tree(const char *bin, int tree_fd, const char *mnt, int log_fd,
			    vs_virtiofsd_place_fn place, void *place_arg, pid_t *pid, int *conn,
			    vs_err *err);

/* The connection broke: if virtiofsd exits within half a second, reap it
 * and say how it ended into buf ("exited with status 1"); else say it is
 * still running. */
void vs_virtiofsd_reap_now(vs_virtiofsd *v, char *buf, size_t len);
/* After the connection is closed (virtiofsd then exits on its own): wait a
 * moment, then SIGTERM, then SIGKILL, and reap it. */
void vs_virtiofsd_stop(vs_virtiofsd *v);

#endif
