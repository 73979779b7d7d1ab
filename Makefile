# rover: the host supervisor (bin/rover) and the in-container runner
# (bin/rover-agent, statically linked).  Targets:
#   make            build both binaries
#   make test       the whole suite: unit tests, then integration tests on real engines
#   make unit       unit tests only (cmocka)
#   make check      unit + local integration tests under ASan+UBSan
#   make valgrind   unit tests under valgrind
#   make lint       clang-format (no difference allowed), cppcheck, gcc -fanalyzer
#   make format     apply .clang-format to every C file
#   make fuzz       libFuzzer harnesses (clang, ASan+UBSan) in build-fuzz/, each run
#                   FUZZ_SECONDS (default 30); tests/fuzz/run.sh
#   make install PREFIX=/usr/local
CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
BINDIR  ?= bin
OPT     ?= -O2 -g
PKG_CONFIG ?= pkg-config

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wwrite-strings -Wvla -Wundef -fno-common -Wno-format-nonliteral
# override: a user's CFLAGS=-O0 adds to these, never drops the warnings.
override CFLAGS  += -std=gnu17 $(WARN) $(OPT) $(SAN) -I. \
                    $(shell $(PKG_CONFIG) --cflags json-c libcurl yaml-0.1)
override LDFLAGS += $(SAN)

COMMON_SRC := $(sort $(wildcard common/*.c))
AGENT_SRC  := $(sort $(filter-out agent-runner/main.c,$(wildcard agent-runner/*.c)))
SUPLIB_SRC := $(sort $(wildcard supervisor/lib/*.c))
SUPCMD_SRC := $(sort $(wildcard supervisor/cmd/*.c))

COMMON_A := $(BUILD)/libcommon.a
AGENT_A  := $(BUILD)/libagent.a
SUPLIB_A := $(BUILD)/libsupervisor.a

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

AGENT_LIBS := -lyaml -ljson-c
# Start-up is mostly the dynamic loader's work, so rover loads as little as
# it can (bench/startup.sh): no -lcurl, as libcurl (and the ~35 libraries it
# pulls in) is dlopen()ed the first time rover talks to an engine
# (supervisor/lib/curl_lazy.h); the three small libraries every command uses
# are linked in from their archives (the runner links them so too).
ROVER_LIBS := -Wl,-Bstatic -linotifytools -lyaml -ljson-c -Wl,-Bdynamic
# The runner must run in any image, scratch included: link it statically.
# Sanitizer builds cannot be static; they are only run on this host.
AGENT_STATIC ?= $(if $(SAN),,-static)

UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRC))
FAULTS_O := $(BUILD)/tests/unit/helpers/faults.o
TESTUTIL_O := $(BUILD)/tests/unit/helpers/testutil.o

.PHONY: all tools test unit integration check valgrind lint format install clean bench fuzz fuzz-build \
	mutate
all: $(BINDIR)/rover-agent $(BINDIR)/rover

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(COMMON_A): $(call obj,$(COMMON_SRC))
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
$(AGENT_A): $(call obj,$(AGENT_SRC))
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
$(SUPLIB_A): $(call obj,$(SUPLIB_SRC))
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^

$(BINDIR)/rover-agent: $(call obj,agent-runner/main.c) $(AGENT_A) $(COMMON_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) $(AGENT_STATIC) -o $@ $^ $(AGENT_LIBS)

$(BINDIR)/rover: $(call obj,supervisor/main.c $(SUPCMD_SRC)) $(SUPLIB_A) $(AGENT_A) $(COMMON_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(ROVER_LIBS)

# Per-test link flags, e.g. WRAP_test_fileio := -Wl,--wrap=fsync
-include tests/unit/wraps.mk
# faults.o defines __wrap_* and calls __real_*, so only wrapped tests link it.
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TESTUTIL_O) $(SUPLIB_A) $(AGENT_A) $(COMMON_A) | $(FAULTS_O)
	$(CC) $(LDFLAGS) $(WRAP_$*) -o $@ $< $(TESTUTIL_O) $(if $(WRAP_$*),$(FAULTS_O)) \
		$(SUPLIB_A) $(AGENT_A) $(COMMON_A) -lcmocka $(ROVER_LIBS)

# Small driver programs used by integration tests (tests/tools/<name>.c).
TOOL_BINS := $(patsubst %.c,$(BUILD)/%,$(sort $(wildcard tests/tools/*.c)))
$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(SUPLIB_A) $(AGENT_A) $(COMMON_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(ROVER_LIBS)
tools: $(TOOL_BINS)

# Benchmarks (bench/<name>.c), run by the scripts in bench/.
BENCH_BINS := $(patsubst %.c,$(BUILD)/%,$(sort $(wildcard bench/*.c)))
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(SUPLIB_A) $(AGENT_A) $(COMMON_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(ROVER_LIBS)

unit: $(UNIT_BINS)
	@ROVER_BUILD=$(BUILD) tests/run.sh --unit-only $(UNIT_BINS)

test: all $(UNIT_BINS) $(TOOL_BINS)
	@ROVER_BIN_DIR=$(BINDIR) tests/run.sh $(UNIT_BINS)

integration: all $(TOOL_BINS)
	@ROVER_BIN_DIR=$(BINDIR) tests/run.sh --integration-only

SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
check:
	$(MAKE) BUILD=build-san BINDIR=build-san/bin OPT='-O1 -g' SAN='$(SANFLAGS)' \
		build-san/bin/rover-agent build-san/bin/rover \
		$(patsubst $(BUILD)/%,build-san/%,$(UNIT_BINS))
	ROVER_BIN_DIR=build-san/bin ROVER_TEST_LOCAL_ONLY=1 \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run.sh $(patsubst $(BUILD)/%,build-san/%,$(UNIT_BINS))

valgrind:
	$(MAKE) BUILD=build-vg BINDIR=build-vg/bin OPT='-O0 -g' AGENT_STATIC= \
		build-vg/bin/rover-agent $(patsubst $(BUILD)/%,build-vg/%,$(UNIT_BINS))
	ROVER_VALGRIND=1 tests/run.sh --unit-only $(patsubst $(BUILD)/%,build-vg/%,$(UNIT_BINS))
	tests/valgrind-agent.sh build-vg/bin/rover-agent

# Every C file of the tree, for clang-format (.clang-format).
FORMAT_FILES := $(wildcard common/*.[ch] agent-runner/*.[ch] supervisor/*.[ch] \
	supervisor/*/*.[ch] tests/unit/*.[ch] tests/unit/helpers/*.[ch] tests/fuzz/*.[ch] \
	tests/tools/*.[ch] bench/*.[ch])

format:
	clang-format -i $(FORMAT_FILES)

lint:
	clang-format --dry-run --Werror $(FORMAT_FILES)
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=redundantInitialization --suppress=missingIncludeSystem --inline-suppr \
		--library=scripts/lint/json-c.cfg -I. \
		common agent-runner supervisor
	$(MAKE) BUILD=build-lint BINDIR=build-lint/bin OPT='-O1 -fanalyzer' all

bench: all
	bench/run-all.sh

# One-line breakages of the durability, lock and pause code; each must be
# caught by a test (scripts/mutate.sh).
mutate:
	scripts/mutate.sh

# libFuzzer harnesses (tests/fuzz/<name>.c, one per parser of untrusted input).
# The project's sources are compiled again with clang and the fuzzer's
# coverage instrumentation into $(FUZZ_BUILD)/clang, apart from any gcc build;
# warnings stay warnings there (gcc's -Werror build is the gate).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 30
FUZZ_SAN := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer -Wno-error
FUZZ_NAMES := $(patsubst tests/fuzz/%.c,%,$(sort $(wildcard tests/fuzz/*.c)))
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h $(SUPLIB_A) $(AGENT_A) $(COMMON_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(SUPLIB_A) $(AGENT_A) $(COMMON_A) $(ROVER_LIBS)
fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD)/clang BINDIR=$(FUZZ_BUILD)/clang/bin CC=clang OPT='-O1 -g' \
		SAN='$(FUZZ_SAN)' $(patsubst %,$(FUZZ_BUILD)/clang/tests/fuzz/%,$(FUZZ_NAMES))
fuzz: fuzz-build
	FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh --no-build

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BINDIR)/rover $(BINDIR)/rover-agent $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/rover.1 docs/man/rover-agent.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build build-san build-vg build-lint bin

.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
