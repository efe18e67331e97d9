# Thin wrapper over CMake. The two set-up commands are `make run` and `make test`;
# both install missing Debian packages (as root) or say exactly what to install.
#   make run    Release build, then `servesim run` on the embedded default
#   make test   every leg below in order, stopping at the first failure, with wall times:
#     test-debug     Debug + ASan/UBSan build, every test (leaks and UB fail the run)
#     test-release   the Release build `make run` uses (same directory, same flags), every test
#                    against that binary: what users run is what the end-to-end tests run
#     test-asan-opt  RelWithDebInfo (-O2) + ASan/UBSan build, every test (optimiser-exposed UB)
#     fuzz-smoke     every libFuzzer harness for SMOKE_SECONDS over its seed corpus (clang)
#   make fuzz   every harness for FUZZ_SECONDS (default 60) each, FUZZ_JOBS at a time
#   make bench  Release build, then `servesim bench all`
#   make tsan   ThreadSanitizer build, then the tests of the parallel sweep/search paths
#   make slurm-check  install Slurm + munge (Debian, root), run a sharded sweep as a real
#               4-task Slurm array on this machine, merge, compare with the unsharded run
#   make report-check  Release build, then every `servesim report` view in headless Chromium
#               (installs chromium, fonts-liberation and python3 as root; tests/report/)
#   make format clang-format every C source;  make clean  remove build/

PKGS      := libglib2.0-dev libjansson-dev zlib1g-dev libyaml-dev libcriterion-dev pkg-config cmake
# The fuzzers need clang with libFuzzer; on Debian its runtime is a separate package.
FUZZ_PKGS := clang libclang-rt-dev
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
REL_DIR   := build/release
DBG_DIR   := build/debug
TSAN_DIR  := build/tsan
OPT_DIR   := build/asan-opt
FUZZ_DIR  := build/fuzz
FUZZ_CC   ?= clang
SMOKE_SECONDS ?= 10
FUZZ_SECONDS  ?= 60
FUZZ_JOBS     ?= 2
SERVESIM  := $(REL_DIR)/tools/servesim
# ASan reports leaks at exit (detect_leaks) and aborts; UBSan aborts on the first report
# (the build also uses -fno-sanitize-recover=all). See docs/style.md "Warnings and sanitizers".
SAN_ENV   := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:halt_on_error=1 \
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all run test bench format clean deps deps-fuzz release debug asan-opt fuzzers \
        test-debug test-release test-asan-opt fuzz-smoke fuzz tsan slurm-check report-check

all: release

deps:
	@missing=""; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	command -v pkg-config >/dev/null 2>&1 || missing="$$missing pkg-config"; \
	if command -v pkg-config >/dev/null 2>&1; then \
	  pkg-config --exists 'glib-2.0 >= 2.74' || missing="$$missing libglib2.0-dev"; \
	  pkg-config --exists jansson  || missing="$$missing libjansson-dev"; \
	  pkg-config --exists zlib     || missing="$$missing zlib1g-dev"; \
	  pkg-config --exists yaml-0.1 || missing="$$missing libyaml-dev"; \
	  pkg-config --exists criterion || missing="$$missing libcriterion-dev"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "servesim: missing build dependencies:$$missing"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "+ apt-get update && apt-get install -y $(PKGS)"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(PKGS) || exit 2; \
	  else \
	    echo "Run as root:  apt-get update && apt-get install -y $(PKGS)"; \
	    exit 2; \
	  fi; \
	fi

# clang that links -fsanitize=fuzzer (the check compiles and links a one-line harness).
deps-fuzz: deps
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1 || \
	   ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' | \
	     $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o /dev/null - >/dev/null 2>&1; then \
	  echo "servesim: the fuzzers need $(FUZZ_CC) with libFuzzer ($(FUZZ_PKGS))"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "+ apt-get update && apt-get install -y $(FUZZ_PKGS)"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $(FUZZ_PKGS) || exit 2; \
	  else \
	    echo "Run as root:  apt-get update && apt-get install -y $(FUZZ_PKGS)"; \
	    exit 2; \
	  fi; \
	fi

$(REL_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(REL_DIR) -DCMAKE_BUILD_TYPE=Release

$(DBG_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(DBG_DIR) -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON

$(OPT_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(OPT_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANITIZE=ON

$(FUZZ_DIR)/CMakeCache.txt: | deps-fuzz
	CC=$(FUZZ_CC) cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSERVESIM_FUZZ=ON \
	  -DSERVESIM_TESTS=OFF

release: deps $(REL_DIR)/CMakeCache.txt
	cmake --build $(REL_DIR) -j $(JOBS)

debug: deps $(DBG_DIR)/CMakeCache.txt
	cmake --build $(DBG_DIR) -j $(JOBS)

asan-opt: deps $(OPT_DIR)/CMakeCache.txt
	cmake --build $(OPT_DIR) -j $(JOBS)

fuzzers: deps-fuzz $(FUZZ_DIR)/CMakeCache.txt
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzzers

# The embedded default: Llama-3.1-8B on one H100, first 10 min of the Azure 2023 conversation
# trace. ARGS="..." passes extra flags.
run: release
	$(SERVESIM) run $(ARGS)

# Each leg prints its wall time; `make test` runs them in order and stops at the first failure.
TEST_LEGS := test-debug test-release test-asan-opt fuzz-smoke
test: deps-fuzz
	@summary=""; for leg in $(TEST_LEGS); do \
	  t0=$$(date +%s); \
	  $(MAKE) --no-print-directory $$leg || { \
	    echo "make test: $$leg FAILED after $$(( $$(date +%s) - t0 )) s"; exit 1; }; \
	  summary="$$summary  $$leg $$(( $$(date +%s) - t0 )) s\n"; \
	done; printf "make test: every leg passed\n$$summary"

define timed
	@t0=$$(date +%s); $(1) || { echo "$@: FAILED after $$(( $$(date +%s) - t0 )) s"; exit 1; }; \
	echo "$@: passed in $$(( $$(date +%s) - t0 )) s"
endef

test-debug:
	$(call timed,$(MAKE) --no-print-directory debug && \
	  cd $(DBG_DIR) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS))

test-release:
	$(call timed,$(MAKE) --no-print-directory release && \
	  cd $(REL_DIR) && ctest --output-on-failure -j $(JOBS))

test-asan-opt:
	$(call timed,$(MAKE) --no-print-directory asan-opt && \
	  cd $(OPT_DIR) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS))

fuzz-smoke:
	$(call timed,$(MAKE) --no-print-directory fuzzers && \
	  FUZZ_SECONDS=$(SMOKE_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh $(FUZZ_DIR))

# FUZZ_SECONDS=N each (or FUZZ_RUNS=N executions), FUZZ_JOBS at a time, FUZZ_NICE, FUZZ_MERGE=1;
# FUZZ="wl_azure tm_model" picks harnesses (fuzz/run.sh).
fuzz: fuzzers
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) fuzz/run.sh $(FUZZ_DIR) $(FUZZ)

bench: release
	$(SERVESIM) bench all

# ThreadSanitizer: servesim runs sweep/search points on -j threads. The sweep, search and
# merge CLI tests (the Debug test runner: Criterion itself cannot start under TSan) run the
# TSan-instrumented binary with -j 1, 2 and 4; a race aborts it (exit 66) and fails the test.
# G_SLICE=always-malloc: GLib 2.74's slice allocator recycles memory between threads under
# locks TSan cannot see (false reports); plain malloc it can.
$(TSAN_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(TSAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTSAN=ON -DSERVESIM_TESTS=OFF

tsan: debug $(TSAN_DIR)/CMakeCache.txt
	cmake --build $(TSAN_DIR) -j $(JOBS) --target servesim
	cd $(DBG_DIR) && $(SAN_ENV) G_SLICE=always-malloc TSAN_OPTIONS=halt_on_error=1:exitcode=66 \
	  SERVESIM_TEST_BINARY=$(CURDIR)/$(TSAN_DIR)/tools/servesim \
	  ./tests/cli/test_cli --jobs 1 --filter '@(sweep|search)/*'

# A real single-node Slurm: see tools/slurm/check.sh (needs root and apt-get).
slurm-check: release
	tools/slurm/check.sh $(SERVESIM)

# Every report view rendered from real outputs in headless Chromium: fails on a console error,
# an empty chart or a network request; screenshots in build/report-check/screenshots/.
report-check: release
	tests/report/report-check.sh $(SERVESIM) build/report-check

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf build
