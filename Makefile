# Makefile — set-up and everyday commands. On a fresh Debian machine:
#
#   make run    install what is missing, build, run with the embedded default config
#   make test   install what is missing, build plain and ASan+UBSan, run every test in both,
#               then (with clang) a short run of each libFuzzer harness in build-fuzz
#   make fuzz   long fuzz runs, one harness at a time (test/fuzz/README.md)
#
# The real build is CMake's; this file only strings the steps together.

SHELL      := /bin/bash
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_JOBS ?= 2

# Debian packages needed to build, test and benchmark.
DEPS := build-essential cmake pkg-config libczmq-dev libzmq3-dev libssl-dev libyaml-dev \
        check curl python3 python3-cryptography nginx-light microsocks clang

# Fuzzing (test/fuzz/README.md): make fuzz runs each harness FUZZ_SECONDS; make
# test runs each FUZZ_SHORT_SECONDS (ctest label fuzz, after the regressions).
FUZZ_SECONDS       ?= 600
FUZZ_SHORT_SECONDS ?= 30
FUZZ_HARNESSES     ?= fuzz_socks fuzz_socks_udp fuzz_http_request fuzz_http_response fuzz_http_framer fuzz_mux \
                      fuzz_inband fuzz_hello fuzz_tls_hello fuzz_v2_flight fuzz_v2_node fuzz_config fuzz_mimic fuzz_mimic_node

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# LeakSanitizer works in this environment, so leaks fail the ASan test run.
ASAN_TEST_OPTIONS  ?= detect_leaks=1:abort_on_error=0
UBSAN_TEST_OPTIONS ?= print_stacktrace=1:halt_on_error=1

# The steps depend on each other's side effects (packages, build dirs): run them in order
# even under make -j; the compilers still get -j$(JOBS).
.NOTPARALLEL:
.PHONY: all deps build build-asan build-fuzz fuzz run test bench bench-wormhole bench-compare bench-mimic bench-stealth bench-conns bench-udp install clean

all: build

deps:
	@missing=""; \
	for p in $(DEPS); do \
	    dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' \
	        || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
	    echo "deps: all packages present"; \
	else \
	    echo "deps: installing$$missing"; \
	    if [ -n "$(SUDO)" ] && ! command -v sudo >/dev/null; then \
	        echo "deps: not root and no sudo; install as root: apt-get install -y$$missing" >&2; exit 1; \
	    fi; \
	    $(SUDO) apt-get update && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y$$missing; \
	fi

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j$(JOBS)

build-asan:
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIMICSOCKS_SANITIZE=ON
	cmake --build $(BUILD_ASAN) -j$(JOBS)

# The harnesses only (the rest of the tree is not built there); needs clang.
build-fuzz:
	cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	    -DMIMICSOCKS_FUZZ=ON -DMIMICSOCKS_FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)
	cmake --build $(BUILD_FUZZ) --target fuzz_harnesses -j$(JOBS)

# One harness at a time, each for FUZZ_SECONDS; the working corpora and any
# crash inputs stay in $(BUILD_FUZZ)/fuzz-long/NAME/. Fails if any harness did.
fuzz: deps build-fuzz
	@rc=0; \
	for h in $(FUZZ_HARNESSES); do \
	    bash test/fuzz/run_fuzz.sh $(BUILD_FUZZ)/test/fuzz/$$h $(BUILD_FUZZ)/fuzz-long $(FUZZ_SECONDS) || rc=1; \
	done; \
	exit $$rc

run: deps build
	./$(BUILD)/mimicsocks --log-level info

# Both test runs always happen; the target fails if either did.
test: deps build build-asan
	@rc=0; \
	echo "== tests: $(BUILD) =="; \
	ctest --test-dir $(BUILD) --output-on-failure -j$(CTEST_JOBS) || rc=1; \
	echo "== tests: $(BUILD_ASAN) (ASan+UBSan, ASAN_OPTIONS=$(ASAN_TEST_OPTIONS)) =="; \
	ASAN_OPTIONS=$(ASAN_TEST_OPTIONS) UBSAN_OPTIONS=$(UBSAN_TEST_OPTIONS) \
	    ctest --test-dir $(BUILD_ASAN) --output-on-failure -j$(CTEST_JOBS) || rc=1; \
	if command -v clang >/dev/null; then \
	    echo "== tests: $(BUILD_FUZZ) (libFuzzer, $(FUZZ_SHORT_SECONDS) s a harness) =="; \
	    $(MAKE) --no-print-directory build-fuzz && \
	    MIMICSOCKS_FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS) \
	        ctest --test-dir $(BUILD_FUZZ) --output-on-failure -L fuzz -j$(CTEST_JOBS) || rc=1; \
	else \
	    echo "== tests: no clang, the fuzz runs are skipped =="; \
	fi; \
	exit $$rc

bench: deps build
	bash bench/proxy_bench.sh $(BUILD)/mimicsocks

# Installs shadowsocks-libev itself if it is missing (it is not in DEPS).
bench-wormhole: deps build
	bash bench/wormhole_bench.sh $(BUILD)/mimicsocks

# One table: both modes x v1/v2 x mimic default/off, ss-libev and v2ray (both installed
# if missing). COMPARE_ARGS, e.g. "-d 5 -o", go to the script (bench/compare.sh -h).
COMPARE_ARGS ?=
bench-compare: deps build
	bash bench/compare.sh $(COMPARE_ARGS) $(BUILD)/mimicsocks

# What each mimic model and a handover every second cost, against mimic: off.
bench-mimic: deps build
	bash bench/mimic_bench.sh $(BUILD)/mimicsocks

# Datagram round trips through UDP ASSOCIATE: direct, standalone socks, both wormhole modes.
bench-udp: build
	bash bench/udp_bench.sh $(BUILD)/mimicsocks

# Memory per held connection at 10,000 and 50,000 (where the fd limit allows).
bench-conns: deps build
	bash bench/conns_bench.sh -n 10000,50000 $(BUILD)/mimicsocks

# Can a classifier tell the tunnel from TLS? Needs root (network namespaces); installs
# tcpdump, python3-sklearn and shadowsocks-libev if they are missing. STEALTH_ARGS, e.g.
# "-n 20", go to the script (bench/stealth/stealth_bench.sh -h).
STEALTH_ARGS ?=
bench-stealth: deps build
	bash bench/stealth/stealth_bench.sh $(STEALTH_ARGS) $(BUILD)/mimicsocks

# The binary to $(PREFIX)/bin, the man page to $(PREFIX)/share/man/man1, the systemd
# unit (made for this PREFIX) to $(PREFIX)/lib/systemd/system, the docs, example
# configs and a copy of the unit to $(PREFIX)/share/doc/mimicsocks (DESTDIR works as
# usual). ctest's `install` checks the result in a scratch prefix.
PREFIX ?= /usr/local
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
