# vessel build. Sources are found by wildcard so a new module needs no edit here.
CC      ?= gcc
PKGS    := json-c libcap
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Isrc/lib -Isrc $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS)) -lm
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

LIB_SRC := $(shell find src/lib -name '*.c' | sort)
CLI_SRC := $(wildcard src/cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)

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
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(LDLIBS)

$(1)/tests/%: $(1)/obj/tests/unit/%.o $(1)/libvessel.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $(2) -o $$@ $$^ $$(LDLIBS) -lcmocka
endef

$(eval $(call tree,build,))
$(eval $(call tree,build-asan,$(SAN)))

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

.PHONY: all asan unit-bins deps test demo bench fuzz format clean
fuzz: $(patsubst tests/fuzz/%.c,build-fuzz/%,$(FUZZ_SRC))

all: build/vessel
asan: build-asan/vessel
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

format:
	clang-format -i $(shell find src tests -name '*.[ch]')

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find build build-asan -name '*.d' 2>/dev/null)
