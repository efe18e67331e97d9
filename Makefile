# Thin wrapper over CMake. The two set-up commands are `make run` and `make test`;
# both install missing Debian packages (as root) or say exactly what to install.
#   make run    Release build, then `servesim run` on the embedded default
#   make test   Debug + ASan/UBSan build, then every test (leaks and UB fail the run)
#   make bench  Release build, then `servesim bench all`
#   make tsan   ThreadSanitizer build, then the tests of the parallel sweep/search paths
#   make slurm-check  install Slurm + munge (Debian, root), run a sharded sweep as a real
#               4-task Slurm array on this machine, merge, compare with the unsharded run
#   make report-check  Release build, then every `servesim report` view in headless Chromium
#               (installs chromium, fonts-liberation and python3 as root; tests/report/)
#   make format clang-format every C source;  make clean  remove build/

PKGS      := libglib2.0-dev libjansson-dev zlib1g-dev libyaml-dev libcriterion-dev pkg-config cmake
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
REL_DIR   := build/release
DBG_DIR   := build/debug
TSAN_DIR  := build/tsan
SERVESIM  := $(REL_DIR)/tools/servesim
# ASan reports leaks at exit (detect_leaks) and aborts; UBSan aborts on the first report
# (the build also uses -fno-sanitize-recover=all). See docs/style.md "Warnings and sanitizers".
SAN_ENV   := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:halt_on_error=1 \
             UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: all run test bench format clean deps release debug tsan slurm-check report-check

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

$(REL_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(REL_DIR) -DCMAKE_BUILD_TYPE=Release

$(DBG_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(DBG_DIR) -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON

release: deps $(REL_DIR)/CMakeCache.txt
	cmake --build $(REL_DIR) -j $(JOBS)

debug: deps $(DBG_DIR)/CMakeCache.txt
	cmake --build $(DBG_DIR) -j $(JOBS)

# The embedded default: Llama-3.1-8B on one H100, first 10 min of the Azure 2023 conversation
# trace. ARGS="..." passes extra flags.
run: release
	$(SERVESIM) run $(ARGS)

test: debug
	cd $(DBG_DIR) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS)

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
