// SPDX-License-Identifier: GPL-2.0-only
/*
 * The KVM binding of a shadowed stage-1 (IOMMU_HWPT_SHADOW_KVM_FD): a
 * reference on the VM, taken without making iommufd depend on KVM at link
 * time, and the list through which a hypervisor's in-kernel intercept finds
 * the shadow a device is attached to (iommufd_shadow_kvm_refresh()).
 *
 * A shadow joins the list once it holds its reference and leaves it before
 * dropping it, both under shadow_kvm_lock, which a refresh holds across the
 * sync: a shadow found on the list stays alive until the refresh is done.
 */
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/iommufd_shadow.h>
#include <uapi/linux/iommufd.h>
#if IS_ENABLED(CONFIG_KVM)
#include <linux/kvm_host.h>
#endif

#include "iommufd_private.h"
#include "shadow.h"

static LIST_HEAD(shadow_kvm_list);
static DEFINE_MUTEX(shadow_kvm_lock);

#if IS_ENABLED(CONFIG_KVM)
/* A reference on the VM behind @fd, or NULL with *@rc set */
static struct kvm *shadow_kvm_get(int fd, void (**put)(struct kvm *kvm),
				  int *rc)
{
	bool (*is_kvm)(struct file *file);
	bool (*get_kvm)(struct kvm *kvm);
	struct kvm *kvm = NULL;
	struct file *file;

	*rc = -EBADF;
	file = fget(fd);
	if (!file)
		return NULL;
	*rc = -EINVAL;
	is_kvm = symbol_get(file_is_kvm);
	if (!is_kvm)
		goto out_fput;
	if (!is_kvm(file)) {
		symbol_put(file_is_kvm);
		goto out_fput;
	}
	symbol_put(file_is_kvm);

	*put = symbol_get(kvm_put_kvm);
	if (!*put)
		goto out_fput;
	get_kvm = symbol_get(kvm_get_kvm_safe);
	if (get_kvm && get_kvm(file->private_data)) {
		kvm = file->private_data;
		*rc = 0;
	} else {
		symbol_put(kvm_put_kvm);
	}
	if (get_kvm)
		symbol_put(kvm_get_kvm_safe);
out_fput:
	fput(file);
	return kvm;
}

static void shadow_kvm_put(struct shadow_kvm *bind)
{
	bind->put_kvm(bind->kvm);
	symbol_put(kvm_put_kvm);
}
#else
static struct kvm *shadow_kvm_get(int fd, void (**put)(struct kvm *kvm),
				  int *rc)
{
	struct file *file = fget(fd);

	*rc = file ? -EINVAL : -EBADF;
	if (file)
		fput(file);
	return NULL;
}

static void shadow_kvm_put(struct shadow_kvm *bind)
{
}
#endif

/**
 * shadow_kvm_bind() - Bind a shadow to the KVM VM of a file descriptor
 * @shadow: A shadow being allocated, not yet bound
 * @fd: The VM's file descriptor (iommu_hwpt_shadow.kvm_fd)
 *
 * Return: 0, -EBADF for a bad @fd, -EINVAL when @fd is not a live KVM VM
 * (or KVM is not built).
 */
int shadow_kvm_bind(struct iommufd_hwpt_shadow *shadow, int fd)
{
	struct shadow_kvm *bind = &shadow->kvm;
	int rc;

	bind->kvm = shadow_kvm_get(fd, &bind->put_kvm, &rc);
	if (!bind->kvm)
		return rc;
	mutex_lock(&shadow_kvm_lock);
	list_add_tail(&bind->item, &shadow_kvm_list);
	mutex_unlock(&shadow_kvm_lock);
	return 0;
}

/**
 * shadow_kvm_unbind() - Undo shadow_kvm_bind(), if it was done
 * @shadow: The shadow; no in-kernel refresh finds it afterwards
 */
void shadow_kvm_unbind(struct iommufd_hwpt_shadow *shadow)
{
	struct shadow_kvm *bind = &shadow->kvm;

	if (!bind->kvm)
		return;
	mutex_lock(&shadow_kvm_lock);
	list_del_init(&bind->item);
	mutex_unlock(&shadow_kvm_lock);
	shadow_kvm_put(bind);
	bind->kvm = NULL;
}

/**
 * iommufd_shadow_kvm_refresh() - A hypervisor delivers a guest refresh
 * @kvm: The VM the stage-1 was bound to (IOMMU_HWPT_SHADOW_KVM_FD)
 * @dev: A device attached to the shadow (e.g. the zPCI function whose
 *	RPCIT was intercepted)
 * @iova: First IOVA of the refresh, 4 KiB aligned
 * @length: Length in bytes, a multiple of 4 KiB
 *
 * What an in-kernel RPCIT intercept calls instead of exiting to the VMM.
 *
 * Return: 0, -ENOENT when @dev is not attached to a shadow bound to @kvm,
 * or an errno of IOMMU_HWPT_INVALIDATE.
 */
int iommufd_shadow_kvm_refresh(struct kvm *kvm, struct device *dev, u64 iova,
			       u64 length)
{
	struct iommu_hwpt_shadow_invalidate inv = {
		.iova = iova,
		.length = length,
	};
	struct iommufd_hwpt_shadow *shadow;
	struct iommu_domain *domain;
	u64 first, last;
	int rc = -ENOENT;

	domain = iommu_get_domain_for_dev(dev);
	if (!domain)
		return -ENOENT;
	mutex_lock(&shadow_kvm_lock);
	list_for_each_entry(shadow, &shadow_kvm_list, kvm.item) {
		if (shadow->kvm.kvm != kvm || shadow->common.domain != domain)
			continue;
		rc = shadow_inv_range(shadow, &inv, &first, &last);
		if (!rc)
			rc = shadow_refresh(shadow, first, last, NULL);
		break;
	}
	mutex_unlock(&shadow_kvm_lock);
	return rc;
}
EXPORT_SYMBOL_NS_GPL(iommufd_shadow_kvm_refresh, IOMMUFD);
