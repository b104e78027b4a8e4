/* virtio-fs without KVM: the device over guest memory in a memfd, a fake
 * device context (hooks recorded, I/O-thread handlers called by hand) and a
 * scripted vhost-user backend on a unix socket (vhu_backend.h). Covers the
 * config space, the InterruptStatus rule, what DRIVER_OK hands the backend
 * (features, memory table with the memfd, rings in vessel's address space,
 * kick and call eventfds), a kick without ioeventfd reaching the backend's
 * kick fd, the backend's call raising the interrupt, GET_VRING_BASE when
 * the driver stops a queue, on reset and when the device needs reset, and the backend failing:
 * hanging up, talking unasked, refusing a request, lacking VERSION_1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vm/virtio/virtio.h"
#include "vhu_backend.h"

extern const vs_device vs_virtio_fs_device;

#define RAM	   (1 << 20)
#define RING(q)	   (0x10000 + (q)*0x1000) /* desc; avail +0x400; used +0x800 */
#define NUM	   8
#define F_VERSION1 (1ULL << 32)
#define F_PROTO	   VS_VHU_F_PROTOCOL_FEATURES

#define REG_STATUS 0x070
#define REG_ISR	   0x060

typedef struct fixture {
	int fds_at_start;
	int memfd;
	uint8_t *ram;
	vs_guest_mem mem;
	vs_bus mmio, pio;
	vs_dev_ctx ctx;
	vs_vm_config cfg;
	char dir[64], sock[96];
	int listen_fd;
	backend b;
	pthread_t t;
	bool thread;
	void *state;
	/* hooks */
	int irq_pulses;
	int ended;
	vs_vm_exit end_reason;
	char end_detail[512];
	struct {
		int fd;
		int (*fn)(void *, int);
		void *arg;
	} io[4];
	int nio;
} fixture;

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int hook_irq(void *host, unsigned gsi, int level)
{
	fixture *f = host;
	(void)gsi;
	f->irq_pulses += level;
	return 0;
}

static void hook_end(void *host, vs_vm_exit reason, int code, const char *detail)
{
	fixture *f = host;
	(void)code;
	f->ended++;
	f->end_reason = reason;
	snprintf(f->end_detail, sizeof(f->end_detail), "%s", detail);
}

static int hook_add_io(void *host, int fd, int (*fn)(void *, int), void *arg, vs_err *err)
{
	fixture *f = host;
	(void)err;
	assert_true(f->nio < 4);
	f->io[f->nio].fd = fd;
	f->io[f->nio].fn = fn;
	f->io[f->nio].arg = arg;
	f->nio++;
	return 0;
}

static void *accept_main(void *arg)
{
	fixture *f = arg;
	f->b.fd = accept(f->listen_fd, NULL, NULL);
	if (f->b.fd < 0)
		return NULL;
	return backend_main(&f->b);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	*state = f;
	f->fds_at_start = open_fds();
	f->memfd = memfd_create("test-ram", MFD_CLOEXEC);
	assert_int_equal(ftruncate(f->memfd, RAM), 0);
	f->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, f->memfd, 0);
	assert_true(f->ram != MAP_FAILED);
	f->mem = (vs_guest_mem){ .n = 1, .ram_size = RAM, .lowmem_end = RAM, .fd = f->memfd };
	f->mem.r[0] = (vs_mem_region){ 0, RAM, f->ram, 0 };
	f->ctx = (vs_dev_ctx){ .mem = &f->mem,
			       .pio = &f->pio,
			       .mmio = &f->mmio,
			       .vm_fd = -1,
			       .host = f,
			       .set_irq = hook_irq,
			       .end = hook_end,
			       .add_io = hook_add_io };
	strcpy(f->dir, "/tmp/vessel-test-vfs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/s", f->dir);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, f->sock);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->listen_fd, 1), 0);
	vs_vm_config_init(&f->cfg);
	f->cfg.fs_tag = "shared";
	f->cfg.fs_socket = f->sock;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	if (f->state)
		vs_virtio_fs_device.destroy(f->state);
	if (f->thread)
		pthread_join(f->t, NULL);
	if (f->b.fd > 0)
		close(f->b.fd);
	backend_close_fds(&f->b);
	close(f->listen_fd);
	unlink(f->sock);
	rmdir(f->dir);
	munmap(f->ram, RAM);
	close(f->memfd);
	/* The device closed every fd it made (eventfds, socket). */
	int left = open_fds() - f->fds_at_start;
	free(f);
	assert_int_equal(left, 0);
	return 0;
}

static void run_backend(fixture *f, const step *steps, int n)
{
	f->b.steps = steps;
	f->b.nsteps = n;
	pthread_create(&f->t, NULL, accept_main, f);
	f->thread = true;
}

static int create(fixture *f, vs_err *err)
{
	return vs_virtio_fs_device.create(&f->ctx, &f->cfg, &f->state, err);
}

static uint32_t reg(fixture *f, uint64_t off)
{
	uint32_t v;
	vs_virtio_mmio_read(f->state, off, &v, 4);
	return v;
}

static void set(fixture *f, uint64_t off, uint32_t v)
{
	vs_virtio_mmio_write(f->state, off, &v, 4);
}

/* Negotiate VERSION_1 and lay out both queues. */
static void negotiate(fixture *f)
{
	set(f, REG_STATUS, 0);
	set(f, REG_STATUS, 3);
	set(f, 0x024, 1);
	set(f, 0x020, 1); /* VERSION_1 */
	set(f, REG_STATUS, 3 | 8);
	assert_true(reg(f, REG_STATUS) & 8);
	for (unsigned q = 0; q < 2; q++) {
		set(f, 0x030, q);
		set(f, 0x038, NUM);
		set(f, 0x080, RING(q));
		set(f, 0x090, RING(q) + 0x400);
		set(f, 0x0a0, RING(q) + 0x800);
		set(f, 0x044, 1);
	}
}

#define HANDSHAKE                                                                                  \
	{ VS_VHU_GET_FEATURES, 0, F_VERSION1 | F_PROTO | (1ULL << 29), { 0 }, 0, 0, 0 },           \
		{ VS_VHU_GET_PROTOCOL_FEATURES, 0, VS_VHU_PROTOCOL_F_REPLY_ACK, { 0 }, 0, 0, 0 },  \
		{ VS_VHU_SET_PROTOCOL_FEATURES, 0, 0, { 0 }, 0, 0, 0 },                            \
	{                                                                                          \
		VS_VHU_SET_OWNER, 0, 0, { 0 }, 0, 0, 0                                             \
	}
#define RING_STEPS                                                                                 \
	{ VS_VHU_SET_VRING_NUM, 0, 0, { 0 }, 0, 0, 0 },                                            \
		{ VS_VHU_SET_VRING_BASE, 0, 0, { 0 }, 0, 0, 0 },                                   \
		{ VS_VHU_SET_VRING_ADDR, 0, 0, { 0 }, 0, 0, 0 },                                   \
		{ VS_VHU_SET_VRING_CALL, 0, 0, { 0 }, 0, 1, 0 },                                   \
		{ VS_VHU_SET_VRING_KICK, 0, 0, { 0 }, 0, 1, 0 },                                   \
	{                                                                                          \
		VS_VHU_SET_VRING_ENABLE, 0, 0, { 0 }, 0, 0, 0                                      \
	}

static void test_queues_go_to_the_backend(void **state)
{
	fixture *f = *state;
	static const step steps[] = {
		HANDSHAKE,
		{ VS_VHU_SET_FEATURES, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_MEM_TABLE, 0, 0, { 0 }, 0, 1, 0 },
		RING_STEPS, /* queue 0: steps 6..11 */
		RING_STEPS, /* queue 1: steps 12..17 */
		/* step 18: the driver stops queue 1; 19..24 re-enables it */
		{ VS_VHU_GET_VRING_BASE, 0, (5ULL << 32) | 1, { 0 }, 0, 0, 0 },
		RING_STEPS,
		/* 25, 26: reset */
		{ VS_VHU_GET_VRING_BASE, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_GET_VRING_BASE, 0, (3ULL << 32) | 1, { 0 }, 0, 0, 0 },
	};
	run_backend(f, steps, sizeof(steps) / sizeof(steps[0]));
	vs_err err = { 0 };
	assert_int_equal(create(f, &err), 0);
	/* Config: the tag, then num_request_queues = 1. */
	char tag[8] = { 0 };
	vs_virtio_mmio_read(f->state, 0x100, tag, 6);
	assert_string_equal(tag, "shared");
	assert_int_equal(reg(f, 0x100 + 36), 1);
	assert_int_equal(reg(f, 0x008), 26);
	/* Only VERSION_1 is offered, whatever else the backend has. */
	set(f, 0x014, 0);
	assert_int_equal(reg(f, 0x010), 0);
	set(f, 0x014, 1);
	assert_int_equal(reg(f, 0x010), 1);
	negotiate(f);
	/* Before DRIVER_OK, InterruptStatus is the device's own: 0. */
	assert_int_equal(reg(f, REG_ISR), 0);
	set(f, REG_STATUS, 3 | 8 | 4);
	assert_int_equal(f->ended, 0);
	/* While the backend runs the queues, it reads "used buffer". */
	assert_int_equal(reg(f, REG_ISR), 1);
	/* SET_FEATURES: VERSION_1 plus PROTOCOL_FEATURES; nothing unasked. */
	assert_true(f->b.last_u64[4] == (F_VERSION1 | F_PROTO));
	/* SET_MEM_TABLE: one region, the memfd, vessel's address. */
	const uint8_t *mt = f->b.payload[5];
	assert_int_equal(rd32(mt), 1);
	assert_true(rd64(mt + 8) == 0 && rd64(mt + 16) == RAM);
	assert_true(rd64(mt + 24) == (uintptr_t)f->ram && rd64(mt + 32) == 0);
	/* Queue 1's ring addresses, in vessel's mapping: desc, used, avail. */
	const uint8_t *ad = f->b.payload[14];
	assert_int_equal(rd32(ad), 1);
	assert_true(rd64(ad + 8) == (uintptr_t)f->ram + RING(1));
	assert_true(rd64(ad + 16) == (uintptr_t)f->ram + RING(1) + 0x800);
	assert_true(rd64(ad + 24) == (uintptr_t)f->ram + RING(1) + 0x400);
	assert_int_equal(rd32(f->b.payload[12] + 4), NUM);
	/* A kick as an MMIO exit (no ioeventfd here) reaches the kick fd. */
	set(f, 0x050, 1);
	uint64_t n = 0;
	assert_int_equal(read(f->b.fds[16][0], &n, 8), 8);
	assert_true(n == 1);
	/* The backend's call, forwarded by the I/O thread: an interrupt. */
	uint64_t one = 1;
	assert_int_equal(write(f->b.fds[15][0], &one, 8), 8);
	/* Without an irqfd, create watched the call eventfd first (io[0]),
	 * then the backend's socket (io[1]). */
	assert_int_equal(f->nio, 2);
	int pulses = f->irq_pulses;
	assert_int_equal(f->io[0].fn(f->io[0].arg, f->io[0].fd), 0);
	assert_int_equal(f->irq_pulses, pulses + 1);
	/* And the socket, readable with nothing unasked in it, is quiet. */
	assert_int_equal(f->io[1].fn(f->io[1].arg, f->io[1].fd), 0);
	assert_int_equal(f->ended, 0);
	/* Queue 1 disabled and enabled again: stopped, then handed over anew. */
	set(f, 0x030, 1);
	set(f, 0x044, 0);
	set(f, 0x044, 1);
	assert_int_equal(f->ended, 0);
	/* Reset: each started ring is stopped with GET_VRING_BASE. */
	set(f, REG_STATUS, 0);
	assert_int_equal(f->ended, 0);
	assert_int_equal(reg(f, REG_ISR), 0);
	vs_virtio_fs_device.destroy(f->state);
	f->state = NULL;
	pthread_join(f->t, NULL);
	f->thread = false;
	if (f->b.error[0])
		fail_msg("backend: %s", f->b.error);
	assert_int_equal(f->b.done, (int)(sizeof(steps) / sizeof(steps[0])));
	assert_int_equal(rd32(f->b.payload[18]), 1);
	assert_int_equal(rd32(f->b.payload[21] + 0), 1); /* SET_VRING_ADDR ring 1 */
	assert_int_equal(rd32(f->b.payload[25]), 0);
	assert_int_equal(rd32(f->b.payload[26]), 1);
}

/* A violation after DRIVER_OK: the device needs reset and ignores its
 * queues, so the backend is told to stop them as well. */
static void test_needs_reset_stops_the_backend(void **state)
{
	fixture *f = *state;
	static const step steps[] = {
		HANDSHAKE,
		{ VS_VHU_SET_FEATURES, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_MEM_TABLE, 0, 0, { 0 }, 0, 1, 0 },
		RING_STEPS,
		RING_STEPS,
		{ VS_VHU_GET_VRING_BASE, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_GET_VRING_BASE, 0, 1, { 0 }, 0, 0, 0 },
	};
	int n = sizeof(steps) / sizeof(steps[0]);
	run_backend(f, steps, n);
	vs_err err = { 0 };
	assert_int_equal(create(f, &err), 0);
	negotiate(f);
	set(f, REG_STATUS, 3 | 8 | 4);
	set(f, 0x030, 1);
	set(f, 0x080, 0x1000); /* moving a live ring */
	assert_true(reg(f, REG_STATUS) & 0x40);
	/* Both rings were stopped then, not at the reset. (The backend counts
	 * a step just after sending its reply.) */
	for (int i = 0; i < 1000 && __atomic_load_n(&f->b.done, __ATOMIC_ACQUIRE) < n; i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&f->b.done, __ATOMIC_ACQUIRE), n);
	/* The reset that follows has nothing left to stop. */
	set(f, REG_STATUS, 0);
	vs_virtio_fs_device.destroy(f->state);
	f->state = NULL;
	pthread_join(f->t, NULL);
	f->thread = false;
	if (f->b.error[0])
		fail_msg("backend: %s", f->b.error);
	assert_int_equal(f->b.done, n);
	assert_int_equal(f->ended, 0);
}

static void expect_end(fixture *f, const char *msg)
{
	assert_int_equal(f->ended, 1);
	assert_int_equal(f->end_reason, VS_VM_EXIT_DEVICE);
	if (!strstr(f->end_detail, msg))
		fail_msg("\"%s\" lacks \"%s\"", f->end_detail, msg);
	/* The device is failed: the driver sees it, nothing more is sent. */
	assert_true(reg(f, REG_STATUS) & 0x80);
}

static void test_backend_hangs_up(void **state)
{
	fixture *f = *state;
	static const step steps[] = { HANDSHAKE };
	f->b.hangup_at_end = true;
	run_backend(f, steps, 4);
	vs_err err = { 0 };
	assert_int_equal(create(f, &err), 0);
	pthread_join(f->t, NULL);
	f->thread = false;
	/* The I/O thread finds the socket readable: end of file. */
	assert_int_equal(f->io[1].fn(f->io[1].arg, f->io[1].fd), -1);
	expect_end(f, "virtio-fs: ");
	expect_end(f, "the backend closed the vhost-user connection");
	/* DRIVER_OK then sends nothing (the connection is dead) and ends
	 * nothing twice. */
	negotiate(f);
	set(f, REG_STATUS, 3 | 8 | 4);
	assert_int_equal(f->ended, 1);
}

static void test_backend_talks_unasked(void **state)
{
	fixture *f = *state;
	static const step steps[] = { HANDSHAKE };
	run_backend(f, steps, 4);
	vs_err err = { 0 };
	assert_int_equal(create(f, &err), 0);
	while (f->b.done < 4)
		usleep(1000);
	uint8_t junk[20];
	mkreply(junk, VS_VHU_GET_FEATURES, 5, 8, 0);
	assert_int_equal(write(f->b.fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	assert_int_equal(f->io[1].fn(f->io[1].arg, f->io[1].fd), -1);
	expect_end(f, "sent a message vessel did not ask for");
}

static void test_backend_refuses_memory(void **state)
{
	fixture *f = *state;
	static const step steps[] = {
		HANDSHAKE,
		{ VS_VHU_SET_FEATURES, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_MEM_TABLE, 0, 1, { 0 }, 0, 1, 0 }, /* ack: failure */
	};
	run_backend(f, steps, 6);
	vs_err err = { 0 };
	assert_int_equal(create(f, &err), 0);
	negotiate(f);
	set(f, REG_STATUS, 3 | 8 | 4);
	expect_end(f, "SET_MEM_TABLE: the backend refused it (status 1)");
	/* A reset afterwards sends nothing to the dead backend. */
	set(f, REG_STATUS, 0);
	assert_int_equal(f->ended, 1);
}

static void test_backend_without_version_1(void **state)
{
	fixture *f = *state;
	static const step steps[] = {
		{ VS_VHU_GET_FEATURES, 0, 0, { 0 }, 0, 0, 0 },
		{ VS_VHU_SET_OWNER, 1, 0, { 0 }, 0, 0, 0 },
	};
	run_backend(f, steps, 2);
	vs_err err = { 0 };
	assert_int_equal(create(f, &err), -1);
	assert_non_null(strstr(err.msg, "does not offer VIRTIO_F_VERSION_1"));
}

static void test_bad_tag(void **state)
{
	fixture *f = *state;
	vs_err err = { 0 };
	f->cfg.fs_tag = "0123456789012345678901234567890123456";
	assert_int_equal(create(f, &err), -1);
	assert_non_null(strstr(err.msg, "1 to 36 bytes"));
	f->cfg.fs_tag = "";
	assert_int_equal(create(f, &err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_queues_go_to_the_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_needs_reset_stops_the_backend, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_backend_hangs_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_talks_unasked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_refuses_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_without_version_1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_tag, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
