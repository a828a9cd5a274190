# condenser — the two set-up commands are `make run` and `make test`.
# Both install missing Debian packages first (scripts/install-deps.sh).
BUILD_DIR ?= build
CONFIG ?= configs/fashion_mnist.yaml
RUN_DIR ?= runs/fashion_mnist
CMAKE_ARGS ?=

# ccache: paths relative to the checkout so clones in other folders hit the
# cache; the sloppiness settings let it cache the LibTorch precompiled header.
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_SLOPPINESS := pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: all deps configure build test run bench clean

all: build

deps:
	@bash scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR)

# mpirun refuses root unless told; these are for the test environment only.
test: build
	@cd $(BUILD_DIR) && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
	  ctest --output-on-failure --timeout 900 -j 2

run: build
	@$(BUILD_DIR)/app/condenser run $(CONFIG) --run-dir $(RUN_DIR)

# Every benchmark; each writes bench/results/NAME.json.
bench: build
	@$(BUILD_DIR)/app/condenser bench all

clean:
	@rm -rf $(BUILD_DIR)
