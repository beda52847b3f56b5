# SPDX-License-Identifier: GPL-2.0
# Entry points of iommufd shadow nesting. Everything is built in build/
# (git-ignored); the kernel tree there is the Debian 6.12 source with
# patches/ applied and this repository's files laid on top.
#
#   make            kernel and test programs
#   make run        the main job: the real client, nested: our kernel as L1
#                   with VT-d, our patched QEMU running an unmodified s390x
#                   Debian guest whose passed-through virtio-blk disks DMA
#                   through the kernel shadow (scripts/nested.sh demo)
#                   (make run DEMO=edu or make run-edu: the VT-d/edu demo;
#                   make run ARCH=s390: the s390x demo, zPCI on s390-iommu)
#   make check      every test suite, x86-64 and s390x; ends with
#                   'N passed, N failed'
#   make bench      issue 5's benchmark: shadow vs QEMU-style userspace vs
#                   the floor, on the mock and on VT-d (~5 min); with
#                   KVARIANT=perf on a kernel without KASAN and lockdep
#                   (configs/x86_64-perf.config, built in build/obj-x86_64-perf)
#   make bench-nested  issue 13's benchmark: the nested guest's O_DIRECT
#                   reads through stock QEMU and the kernel shadow side by
#                   side (MB/s, RPCITs, QEMU ns per RPCIT, QEMU CPU time)
#   make bench-profile [ARGS="--max-size N --layouts s|c"]
#                   where the kernel spends a refresh (VT-d, /proc/profile)
#   make vm         interactive shell in the test VM (PROFILE=vtd|mock)
#   make vm-run PROG=path [ARGS="..."] [PROFILE=vtd|mock] [TIMEOUT=s]
#                   run a static program in the VM, return its exit status
#   make s390       only the s390x suite of make check: cross-build the s390x
#                   kernel and tests, run tests/vm-s390.list (s390-mock) and
#                   tests/vm-s390-zpci.list (s390) in qemu-system-s390x (also:
#                   ARCH=s390 make vm|vm-run PROFILE=s390|s390-mock)
#   make s390-kernel  only cross-build the s390x kernel (with the feature)
#   make libvirt    our libvirt series: build it (QEMU driver, test programs)
#                   and run its tests (scripts/libvirt.sh --test)
#   make clean      remove build/ (the unpacked tree, objects, ccache stays)

PROFILE ?= vtd
TIMEOUT ?= 600
# make run: the nested real-client demo on x86-64 (DEMO=edu: the VT-d/edu one)
DEMO ?= $(if $(filter s390,$(ARCH)),s390,nested)

.PHONY: all deps kernel tests run run-edu check bench bench-nested bench-profile vm vm-run s390 s390-kernel libvirt clean

all: tests

deps:
	scripts/deps.sh

kernel: deps
	scripts/build.sh

tests: kernel
	scripts/build-tests.sh

run: tests
ifeq ($(DEMO),nested)
	scripts/nested.sh demo
else
	scripts/run.sh
endif

run-edu: tests
	scripts/run.sh

check:
	scripts/check.sh

bench: tests
	scripts/vm-run.sh -p mock -t 900 build/tests-x86_64/bench
	scripts/vm-run.sh -p vtd -t 900 build/tests-x86_64/bench --edu

bench-nested: tests
	scripts/nested.sh bench

bench-profile: tests
	scripts/bench-profile.sh $(ARGS)

vm: tests
	scripts/vm.sh -p $(PROFILE) -a tests/vm-smoke.sh -s

vm-run: tests
	@test -n "$(PROG)" || { echo "usage: make vm-run PROG=path [ARGS=...]"; exit 2; }
	scripts/vm-run.sh -p $(PROFILE) -t $(TIMEOUT) $(PROG) $(ARGS)

s390:
	SUITES=s390 scripts/check.sh

s390-kernel:
	ARCH=s390 scripts/deps.sh
	ARCH=s390 scripts/build.sh

libvirt:
	scripts/libvirt.sh --test

clean:
	rm -rf build
