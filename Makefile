# vessel build. Sources are found by wildcard so a new module needs no edit here.
CC      ?= gcc
PKGS    := json-c libcap libseccomp
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/lib -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC := $(shell find src/lib -name '*.c' | sort)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
# The guest agent (docs/agent-protocol.md): PID 1 of vessel's initramfs.
AGENT_SRC := $(wildcard src/guest/agent/*.c)

# Two trees: build/ (release) and build-asan/ (ASan+UBSan), same rules.
define tree
$(1)/obj/%.o: %.c
	@mkdir -p $$(dir $$@)
	@echo "  CC $(1)/$$<"
	@$$(CC) $$(CFLAGS) $(2) -MMD -MP -c $$< -o $$@

$(1)/libvessel.a: $$(patsubst %.c,$(1)/obj/%.o,$$(LIB_SRC))
	@rm -f $$@
	ar rcs $$@ $$^

$(1)/vessel: $$(patsubst %.c,$(1)/obj/%.o,$$(CLI_SRC)) $(1)/libvessel.a
	$$(CC) $$(CFLAGS) $(2) $(3) -o $$@ $$^ $$(LDLIBS)

$(1)/vessel-agent: $$(patsubst %.c,$(1)/obj/%.o,$$(AGENT_SRC)) $(1)/libvessel.a
	$$(CC) $$(CFLAGS) $(2) $(3) -o $$@ $$^ $$(LDLIBS)

$(1)/tests/%: $(1)/obj/tests/unit/%.o $(1)/libvessel.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(LDLIBS) -lcmocka
endef

# The release binary is static: create and run exec vessel twice (the
# sealed copy, core/sealed_exe.h), and a static exec skips the dynamic
# loader's work each time (about 2 ms per `run` here). ASan needs a dynamic
# binary.
$(eval $(call tree,build,,-static))
# VS_TEST_HOOKS: test-only code paths (the microvm stand-in,
# src/lib/microvm/standin.h), never in the release binary.
$(eval $(call tree,build-asan,$(SAN) -DVS_TEST_HOOKS,))

UNIT_BINS      := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRC))
UNIT_BINS_ASAN := $(patsubst tests/unit/%.c,build-asan/tests/%,$(UNIT_SRC))

# Keep test objects (make would delete them as intermediates).
.SECONDARY:

# Fuzz targets (clang + libFuzzer); not part of `make test`, whose unit tests
# replay deterministic mutations of the same inputs under ASan instead.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
build-fuzz/%: tests/fuzz/%.c $(LIB_SRC)
	@mkdir -p build-fuzz
	clang -g -O1 -std=gnu11 -D_GNU_SOURCE -Isrc/lib -Isrc $(shell pkg-config --cflags $(PKGS)) \
		-fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

.PHONY: all asan unit-bins deps test demo bench fuzz format clean install
fuzz: $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))

all: build/vessel build/vessel-agent
asan: build-asan/vessel build-asan/vessel-agent
unit-bins: $(UNIT_BINS) $(UNIT_BINS_ASAN)

deps:
	@scripts/install-deps.sh

test: deps
	$(MAKE) all asan unit-bins
	@tests/run-all.sh

demo: deps
	$(MAKE) all
	@scripts/demo.sh

bench: deps
	$(MAKE) all
	@bench/run-container-bench.sh

# vessel, and vessel-vm beside it: the same binary, which makes every
# workload a microVM when invoked by that name (docs/microvm.md, Selection).
PREFIX ?= /usr/local
install: build/vessel build/vessel-agent
	install -D -m 0755 build/vessel $(DESTDIR)$(PREFIX)/bin/vessel
	install -D -m 0755 build/vessel-agent $(DESTDIR)$(PREFIX)/libexec/vessel/vessel-agent
	ln -sfn vessel $(DESTDIR)$(PREFIX)/bin/vessel-vm

format:
	clang-format -i $(shell find src tests -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find build build-asan -name '*.d' 2>/dev/null)

# ---- Test guests (tests/guests): freestanding x86 programs booted by the VMM
# tests. Own flags: no sanitizers, no libc, no PIE. 64-bit guests are flat
# bzImages (setup header + payload at 1 MiB); pvh.elf (also the bench guest) is a
# 32-bit PVH ELF.
GUEST_DIR    := tests/guests
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -nostdlib -static \
	-fno-pic -no-pie -fno-stack-protector -fno-asynchronous-unwind-tables -mgeneral-regs-only \
	-Wl,--build-id=none -Wa,--noexecstack -Wl,--no-warn-rwx-segments -I$(GUEST_DIR)
GUEST64_SRC  := $(filter-out $(GUEST_DIR)/lib.c $(GUEST_DIR)/virtio.c $(GUEST_DIR)/pvh.c, \
	$(wildcard $(GUEST_DIR)/*.c))
GUEST64      := $(patsubst $(GUEST_DIR)/%.c,build/guests/%.bzImage,$(GUEST64_SRC))
GUEST_LIB64  := $(GUEST_DIR)/head64.S $(GUEST_DIR)/lib.c $(wildcard $(GUEST_DIR)/virtio.c)

build/guests/%.elf: $(GUEST_DIR)/%.c $(GUEST_LIB64) $(GUEST_DIR)/guest64.ld $(wildcard $(GUEST_DIR)/*.h)
	@mkdir -p $(dir $@)
	$(CC) -m64 -mno-red-zone $(GUEST_CFLAGS) -T $(GUEST_DIR)/guest64.ld -o $@ $(GUEST_LIB64) $<

build/guests/%.bzImage: build/guests/%.elf
	objcopy -O binary $< $@

build/guests/pvh.elf: $(GUEST_DIR)/pvh.c $(GUEST_DIR)/head32.S $(GUEST_DIR)/lib.c $(GUEST_DIR)/pvh.ld $(GUEST_DIR)/guest.h
	@mkdir -p $(dir $@)
	$(CC) -m32 $(GUEST_CFLAGS) -Wl,-melf_i386 -T $(GUEST_DIR)/pvh.ld -o $@ \
		$(GUEST_DIR)/head32.S $(GUEST_DIR)/lib.c $<

.PHONY: guests bench-vm
bench-vm: deps
	@bench/vm-start.sh
guests: $(GUEST64) build/guests/pvh.elf
unit-bins: guests
