/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test ops of shadow nesting (IOMMU_TEST_OP_SHADOW_*, iommufd_test.h),
 * shared by the kselftests and the benchmark. Each op has the helper
 * triplet of iommufd_utils.h:
 *
 *   _test_cmd_shadow_x(fd, ...)      the ioctl: 0, or -1 with errno set
 *   test_cmd_shadow_x(...)           asserts it succeeds (on self->fd)
 *   test_err_shadow_x(errno, ...)    expects it to fail with errno
 *
 * The two macros need the kselftest harness and, for test_err_, the
 * EXPECT_ERRNO() of iommufd_utils.h; a program without them (a fixture
 * whose iommufd is not self->fd, the benchmark) calls _test_cmd_ itself.
 */
#ifndef __SHADOW_TEST_UTILS_H
#define __SHADOW_TEST_UTILS_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/iommufd.h>

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

/*
 * What the shadow domain translates at [@iova, @iova + @length): the user
 * pages at @uptr, readable and, unless @flags has
 * MOCK_SHADOW_CHECK_READONLY, writable; with @uptr NULL, nothing.
 */
static int _test_cmd_shadow_check(int fd, __u32 hwpt_id, __u64 iova,
				  __u64 length, void *uptr, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SHADOW_CHECK,
		.id = hwpt_id,
		.shadow_check = {
			.iova = iova,
			.length = length,
			.uptr = (uintptr_t)uptr,
			.flags = flags,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_shadow_check(hwpt_id, iova, length, uptr, flags)          \
	ASSERT_EQ(0, _test_cmd_shadow_check(self->fd, hwpt_id, iova, length, \
					    uptr, flags))
#define test_err_shadow_check(_errno, hwpt_id, iova, length, uptr, flags) \
	EXPECT_ERRNO(_errno, _test_cmd_shadow_check(self->fd, hwpt_id, iova, \
						    length, uptr, flags))

/* The shadow's counters */
static int _test_cmd_shadow_stats(int fd, __u32 hwpt_id,
				  struct iommu_test_shadow_stats *stats)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SHADOW_STATS,
		.id = hwpt_id,
		.shadow_stats = {
			.uptr = (uintptr_t)stats,
			.length = sizeof(*stats),
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_shadow_stats(hwpt_id, stats) \
	ASSERT_EQ(0, _test_cmd_shadow_stats(self->fd, hwpt_id, stats))

/*
 * A hypervisor's refresh of [@iova, @iova + @length) for the device
 * @dev_id, through iommufd_shadow_kvm_refresh() with the VM of @kvm_fd
 */
static int _test_cmd_shadow_kvm_refresh(int fd, int kvm_fd, __u32 dev_id,
					__u64 iova, __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SHADOW_KVM_REFRESH,
		.shadow_refresh = {
			.kvm_fd = kvm_fd,
			.dev_id = dev_id,
			.iova = iova,
			.length = length,
		},
	};

	return ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

#define test_cmd_shadow_kvm_refresh(kvm_fd, dev_id, iova, length)          \
	ASSERT_EQ(0, _test_cmd_shadow_kvm_refresh(self->fd, kvm_fd, dev_id, \
						  iova, length))
#define test_err_shadow_kvm_refresh(_errno, kvm_fd, dev_id, iova, length)   \
	EXPECT_ERRNO(_errno, _test_cmd_shadow_kvm_refresh(self->fd, kvm_fd, \
							  dev_id, iova,     \
							  length))

/*
 * The benchmark's floor: the pages the shadow maps over the range, mapped
 * into a fresh domain of @dev_id's driver and unmapped again; the times
 * and the number of map calls (0 if it fails)
 */
static int _test_cmd_shadow_floor(int fd, __u32 hwpt_id, __u32 dev_id,
				  __u64 iova, __u64 length, uint64_t *map_ns,
				  uint64_t *unmap_ns, uint64_t *map_calls)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_SHADOW_FLOOR,
		.id = hwpt_id,
		.shadow_floor = {
			.dev_id = dev_id,
			.iova = iova,
			.length = length,
		},
	};
	int ret;

	/* The out_ fields stay 0 when it fails */
	ret = ioctl(fd, IOMMU_TEST_CMD, &cmd);
	*map_ns = cmd.shadow_floor.out_map_ns;
	*unmap_ns = cmd.shadow_floor.out_unmap_ns;
	*map_calls = cmd.shadow_floor.out_map_calls;
	return ret;
}

#endif
