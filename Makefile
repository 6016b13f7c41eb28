# kvmq: build, run and test entry points.  README.md "Build and test"
# explains each target; the short version:
#
#   make deps       install missing Debian packages (no-op when all there)
#   make build      build/ngx_http_kvmq_module.so against the system nginx,
#                   and the tools
#   make tools      the client tools: build/tools/kvmq, build/tools/kvmq-bench
#   make unit       engine unit tests into build/unit/
#   make lint       style checks + cppcheck over our C files
#   make test       deps, build, unit, lint, then prove -r t
#   make test-asan  the same suite, module and unit tests with ASan+UBSan
#   make bench      the peers too, then bench/run.sh -> bench/RESULTS.md
#   make run        nginx in the foreground on 127.0.0.1:8080
#   make start/stop the same in the background
#   make clean      remove build/

SHELL := /bin/bash

NGX_SRC    ?= /usr/share/nginx/src
NGINX_BIN  ?= /usr/sbin/nginx
CC         ?= gcc
PROVE      ?= prove
PROVE_FLAGS ?=

# KVMQ_ASAN=1 selects the sanitizer build; `make test-asan` sets it for the
# sub-makes.  Both variants live side by side: build/ and build/asan/.
KVMQ_ASAN  ?= 0

SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
              -fno-omit-frame-pointer

ifeq ($(KVMQ_ASAN),1)
OUT        := build/asan
MOD_CC_OPT := -g -O1 $(SAN_FLAGS)
MOD_LD_OPT := -fsanitize=address,undefined
UNIT_XFLAGS := $(SAN_FLAGS)
else
OUT        := build
MOD_CC_OPT := -g -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
MOD_LD_OPT := -Wl,-z,relro -Wl,-z,now
UNIT_XFLAGS :=
endif

# -Werror is deliberately not in --with-cc-opt: configure compiles its
# feature tests with --with-cc-opt, and -Werror there makes some of them
# fail (pwrite, strerrordesc_np), which changes ngx_auto_config.h.  nginx
# adds -Werror to CFLAGS itself for gcc; the objs/Makefile rule below
# checks that it did.
MOD_CC_OPT += -Wall -Wextra

NGX_BUILD  := $(OUT)/nginx-src
MODULE_SO  := $(OUT)/ngx_http_kvmq_module.so

KVMQ_SRCS  := $(sort $(wildcard src/*.c ngx_module/*.c))
KVMQ_HDRS  := $(sort $(wildcard src/*.h ngx_module/*.h))
GLUE_SRCS  := $(wildcard ngx_module/*.c)

UNIT_DIR   := $(OUT)/unit
UNIT_NAMES := $(filter-out host,$(basename $(notdir $(wildcard t/unit/*.c))))
UNIT_BINS  := $(addprefix $(UNIT_DIR)/,$(UNIT_NAMES))
ENGINE_OBJS := $(patsubst %.c,$(UNIT_DIR)/obj/%.o,$(wildcard src/*.c))
UNIT_CFLAGS := -std=gnu99 -Wall -Wextra -Werror -g -O1 -Isrc $(UNIT_XFLAGS)
UNIT_LIBS  := -lyajl -lm

# The client tools (tools/*.c, on libwebsockets) are never sanitized: they
# are test drivers, not the code under test.
TOOLS_DIR  := $(OUT)/tools
TOOLS_BINS := $(TOOLS_DIR)/kvmq $(TOOLS_DIR)/kvmq-bench
TOOLS_CFLAGS := -std=gnu99 -Wall -Wextra -Werror -g -O2
TOOLS_LIBS := -lwebsockets -lyajl -lm

# Environment of the test suite.  The integration harness
# (t/lib/Kvmq/Test.pm) loads $KVMQ_MODULE; the unit wrappers run binaries
# from $KVMQ_UNIT_DIR.
TEST_ENV    = KVMQ_MODULE=$(CURDIR)/$(MODULE_SO) \
              KVMQ_UNIT_DIR=$(CURDIR)/$(UNIT_DIR) \
              KVMQ_TOOLS_DIR=$(CURDIR)/$(TOOLS_DIR)
ifeq ($(KVMQ_ASAN),1)
# nginx itself is not instrumented: the harness LD_PRELOADs the ASan
# runtime into it and sets nginx's own ASAN_OPTIONS (no leak check, reports
# into the test's prefix).  The settings here are for the unit tests.
TEST_ENV   += KVMQ_SANITIZE=1 \
              KVMQ_PRELOAD=$(shell realpath -e \
                  $$($(CC) -print-file-name=libasan.so)) \
              ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0 \
              UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
endif

# write stdin to $(1) only when it differs, so that make sees a change
# only when there is one
update = { cat > $(1).tmp; \
           if cmp -s $(1).tmp $(1); then rm -f $(1).tmp; \
           else mv -f $(1).tmp $(1); fi; }

.PHONY: all deps build tools unit lint test test-asan prove run start \
        stop clean bench FORCE

all: build

deps:
	@scripts/deps.sh


# --- the benchmark (bench/run.sh writes bench/RESULTS.md) -----------------

# The RabbitMQ load client is built only here: librabbitmq-dev is a
# benchmark dependency, not a build or test one.
AMQP_BENCH := $(OUT)/bench/kvmq-amqp-bench

$(AMQP_BENCH): bench/amqp_bench.c tools/bench_stats.c tools/bench_stats.h
	@mkdir -p $(@D)
	$(CC) -std=gnu99 -Wall -Wextra -Werror -O2 -Itools -o $@ \
	    $(filter %.c,$^) -lrabbitmq -lpthread

bench:
	@scripts/deps.sh bench
	+@$(MAKE) --no-print-directory build
	+@$(MAKE) --no-print-directory $(AMQP_BENCH)
	bench/run.sh


# --- the module -----------------------------------------------------------

# What the copy of the nginx source depends on: the installed nginx-dev.
$(OUT)/nginx-src.id: FORCE
	@mkdir -p $(@D)
	@test -f $(NGX_SRC)/conf_flags || { \
	    echo "$(NGX_SRC) not found: run 'make deps'" >&2; exit 1; }
	@cksum $(NGX_SRC)/conf_flags $(NGX_SRC)/src/core/nginx.h \
	    | $(call update,$@)

# What configure's output depends on besides that: our file list (the
# `config` script globs it) and the flags.
$(OUT)/kvmq-files: FORCE
	@mkdir -p $(@D)
	@printf '%s\n' $(KVMQ_SRCS) $(KVMQ_HDRS) \
	    'cc-opt: $(MOD_CC_OPT)' 'ld-opt: $(MOD_LD_OPT)' | $(call update,$@)

$(NGX_BUILD)/configure: $(OUT)/nginx-src.id
	rm -rf $(NGX_BUILD)
	cp -a $(NGX_SRC) $(NGX_BUILD)
	touch $@

$(NGX_BUILD)/objs/Makefile: $(NGX_BUILD)/configure $(OUT)/kvmq-files config
	@echo "configuring nginx in $(NGX_BUILD) (log: $(OUT)/configure.log)"
	@rm -f $@
	@cd $(NGX_BUILD) && bash -c '. ./conf_flags && \
	    exec ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="$(MOD_CC_OPT)" --with-ld-opt="$(MOD_LD_OPT)" \
	        --add-dynamic-module="$(CURDIR)"' \
	    > $(CURDIR)/$(OUT)/configure.log 2>&1 \
	    || { tail -n 30 $(CURDIR)/$(OUT)/configure.log; rm -f objs/Makefile; \
	         exit 1; }
	@grep -q '^CFLAGS.* -Werror' $@ || sed -i '/^CFLAGS =/s/$$/ -Werror/' $@

ifeq ($(GLUE_SRCS),)
build:
	@echo "make build: no ngx_module/*.c yet, no module to build"
else
build: $(NGX_BUILD)/objs/Makefile
	+@cd $(NGX_BUILD) && $(MAKE) --no-print-directory -f objs/Makefile \
	    modules
	@# a new file renamed over the old one: a running nginx keeps its
	@# mapping of the old inode instead of crashing on a rewritten one
	@cmp -s $(NGX_BUILD)/objs/ngx_http_kvmq_module.so $(MODULE_SO) \
	    || { cp $(NGX_BUILD)/objs/ngx_http_kvmq_module.so $(MODULE_SO).tmp \
	         && mv -f $(MODULE_SO).tmp $(MODULE_SO); }
	@echo "built $(MODULE_SO)"
endif


# --- the client tools -----------------------------------------------------

build: tools

tools: $(TOOLS_BINS)

$(TOOLS_DIR)/kvmq: tools/kvmq.c tools/kvmq_queue.c tools/kvmq_print.c \
                   tools/wsclient.c \
                   $(wildcard tools/*.h)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -o $@ $(filter %.c,$^) $(TOOLS_LIBS)

$(TOOLS_DIR)/kvmq-bench: tools/bench.c tools/bench_peer.c tools/bench_raw.c \
                         tools/bench_stats.c tools/kvmq_print.c \
                         tools/wsclient.c \
                         $(wildcard tools/*.h)
	@mkdir -p $(@D)
	$(CC) $(TOOLS_CFLAGS) -pthread -o $@ $(filter %.c,$^) $(TOOLS_LIBS)


# --- engine unit tests ----------------------------------------------------

unit: $(UNIT_BINS)

$(UNIT_DIR)/flags: FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(UNIT_CFLAGS) $(UNIT_LIBS)' | $(call update,$@)

$(UNIT_DIR)/obj/%.o: %.c $(UNIT_DIR)/flags
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -MMD -MP -c -o $@ $<

$(UNIT_BINS): $(UNIT_DIR)/%: $(UNIT_DIR)/obj/t/unit/%.o \
              $(UNIT_DIR)/obj/t/unit/host.o $(ENGINE_OBJS)
	$(CC) $(UNIT_CFLAGS) -o $@ $^ $(UNIT_LIBS)

-include $(wildcard $(UNIT_DIR)/obj/src/*.d $(UNIT_DIR)/obj/t/unit/*.d)


# --- checks ---------------------------------------------------------------

lint:
	@scripts/lint.sh

prove:
	$(TEST_ENV) $(PROVE) -r -I t/lib $(PROVE_FLAGS) t

# Sub-makes so that each step sees what the previous one installed or
# built, and so that -j never runs them out of order.
test: deps
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory prove

test-asan: deps
	@bad=$$(grep -L KVMQ_UNIT_DIR t/unit/*.t 2>/dev/null || true); \
	if [ -n "$$bad" ]; then \
	    echo "these unit wrappers ignore \$$KVMQ_UNIT_DIR and would run" \
	         "the non-ASan binaries:" $$bad >&2; \
	    echo 'use: exec "$${KVMQ_UNIT_DIR:-$$(dirname "$$0")/../../build/unit}/NAME" "$$@"' >&2; \
	    exit 1; \
	fi
	@$(MAKE) --no-print-directory KVMQ_ASAN=1 build
	@$(MAKE) --no-print-directory KVMQ_ASAN=1 unit
	@$(MAKE) --no-print-directory KVMQ_ASAN=1 prove


# --- running --------------------------------------------------------------

run start: build
	@NGINX_BIN=$(NGINX_BIN) scripts/nginx.sh $@

stop:
	@NGINX_BIN=$(NGINX_BIN) scripts/nginx.sh stop

clean:
	@scripts/nginx.sh stop > /dev/null
	rm -rf build

FORCE:
