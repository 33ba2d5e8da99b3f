/* POSIX ACLs, the engine's part (as ext4 does it, for every front end):
 * a new node inherits its directory's default ACL in place of the umask, in
 * the same transaction as the create; setting system.posix_acl_access keeps
 * the mode in step; a chmod rewrites the access ACL. The kernel (FUSE with
 * FUSE_CAP_POSIX_ACL) enforces the ACLs; S3 creates inherit them too. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"

/* The xattr form of an ACL (linux/posix_acl_xattr.h): a little-endian
 * version word, then entries of tag, permissions and id. */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER_OBJ 0x01
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_GROUP 0x08
#define ACL_TAG_MASK 0x10
#define ACL_TAG_OTHER 0x20

struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};
_Static_assert(sizeof(struct acl_entry) == 8, "posix_acl_xattr_entry is 8 bytes");

static size_t acl_count(size_t size)
{
	return (size - 4) / sizeof(struct acl_entry);
}

/* Entries are read and written through memcpy: a value straight from a
 * request buffer need not be aligned. */
static struct acl_entry acl_entry_get(const void *acl, size_t i)
{
	struct acl_entry e;

	memcpy(&e, (const char *)acl + 4 + i * sizeof(e), sizeof(e));
	e.tag = le16toh(e.tag);
	e.perm = le16toh(e.perm);
	return e;
}

static void acl_perm_put(void *acl, size_t i, uint16_t perm)
{
	uint16_t le = htole16(perm);

	memcpy((char *)acl + 4 + i * sizeof(struct acl_entry) + 2, &le, sizeof(le));
}

/* True if @p acl is a well-formed ACL that has the three required entries
 * (and a mask if it names users or groups). */
static bool acl_valid(const void *acl, size_t size)
{
	unsigned seen = 0;
	uint32_t version;

	if (size < 4 || (size - 4) % sizeof(struct acl_entry) != 0)
		return false;
	memcpy(&version, acl, 4);
	if (le32toh(version) != ACL_XATTR_VERSION)
		return false;
	for (size_t i = 0; i < acl_count(size); i++)
		seen |= acl_entry_get(acl, i).tag;
	if ((seen & (ACL_TAG_USER_OBJ | ACL_TAG_GROUP_OBJ | ACL_TAG_OTHER)) !=
	    (ACL_TAG_USER_OBJ | ACL_TAG_GROUP_OBJ | ACL_TAG_OTHER))
		return false;
	if ((seen & (ACL_TAG_USER | ACL_TAG_GROUP)) && !(seen & ACL_TAG_MASK))
		return false;
	return true;
}

/* posix_acl_create_masq(): mask the inherited @p acl by the requested
 * permission bits in *mode and narrow *mode to what the ACL grants.
 * @return true if the ACL says more than the mode (it must be stored). */
static bool acl_create_masq(void *acl, size_t size, uint32_t *mode)
{
	size_t group_obj = SIZE_MAX, mask_obj = SIZE_MAX;
	uint32_t m = *mode;
	bool extended = false;

	for (size_t i = 0; i < acl_count(size); i++) {
		struct acl_entry e = acl_entry_get(acl, i);
		uint16_t perm = e.perm;

		switch (e.tag) {
		case ACL_TAG_USER_OBJ:
			perm &= (m >> 6) & 7;
			m &= (uint32_t)(perm << 6) | ~(uint32_t)S_IRWXU;
			acl_perm_put(acl, i, perm);
			break;
		case ACL_TAG_USER:
		case ACL_TAG_GROUP:
			extended = true;
			break;
		case ACL_TAG_GROUP_OBJ:
			group_obj = i;
			break;
		case ACL_TAG_MASK:
			mask_obj = i;
			extended = true;
			break;
		case ACL_TAG_OTHER:
			perm &= m & 7;
			m &= perm | ~(uint32_t)S_IRWXO;
			acl_perm_put(acl, i, perm);
			break;
		}
	}
	size_t g = mask_obj != SIZE_MAX ? mask_obj : group_obj;
	if (g != SIZE_MAX) {
		uint16_t perm = acl_entry_get(acl, g).perm & ((m >> 3) & 7);

		acl_perm_put(acl, g, perm);
		m &= (uint32_t)(perm << 3) | ~(uint32_t)S_IRWXG;
	}
	*mode = m;
	return extended;
}

/* The permission bits an access ACL stands for: owner, mask (or group), other. */
static uint32_t acl_mode_bits(const void *acl, size_t size)
{
	uint32_t user = 0, group = 0, mask = 0, other = 0;
	bool has_mask = false;

	for (size_t i = 0; i < acl_count(size); i++) {
		struct acl_entry e = acl_entry_get(acl, i);
		uint32_t perm = e.perm & 7;

		switch (e.tag) {
		case ACL_TAG_USER_OBJ:
			user = perm;
			break;
		case ACL_TAG_GROUP_OBJ:
			group = perm;
			break;
		case ACL_TAG_MASK:
			mask = perm;
			has_mask = true;
			break;
		case ACL_TAG_OTHER:
			other = perm;
			break;
		}
	}
	return (user << 6) | ((has_mask ? mask : group) << 3) | other;
}

/* Xattr @p name of @p ino into a malloc'ed buffer (*out NULL when none). */
static int acl_read(struct idx_txn *txn, uint64_t ino, const char *name, void **out, size_t *size)
{
	size_t len = 0;
	int rc = idx_xattr_get(txn, ino, name, NULL, 0, &len);

	*out = NULL;
	*size = 0;
	if (rc == -ENODATA || (rc == 0 && len == 0))
		return 0;
	if (rc < 0)
		return rc;
	*out = malloc(len);
	if (!*out)
		return -ENOMEM;
	rc = idx_xattr_get(txn, ino, name, *out, len, &len);
	if (rc < 0) {
		free(*out);
		*out = NULL;
		return rc;
	}
	*size = len;
	return 0;
}

int vol_acl_inherit(struct idx_txn *txn, uint64_t parent, uint32_t *mode, uint32_t umask,
		    struct vol_acl_new *nn)
{
	uint32_t perm = *mode & 07777;
	int rc;

	memset(nn, 0, sizeof(*nn));
	if (S_ISLNK(*mode))
		return 0;
	rc = acl_read(txn, parent, VOL_ACL_DEFAULT, &nn->dacl, &nn->dacl_size);
	if (rc < 0)
		return rc;
	if (nn->dacl && !acl_valid(nn->dacl, nn->dacl_size)) {
		tfs_warn("directory inode %" PRIu64 " has a malformed default ACL; ignoring it "
			 "(remove it with setfacl -k)",
			 parent);
		vol_acl_new_fini(nn);
	}
	if (!nn->dacl) {
		*mode &= ~(umask & 0777);
		return 0;
	}
	/* The default ACL takes the umask's place. */
	nn->acl = malloc(nn->dacl_size);
	if (!nn->acl) {
		vol_acl_new_fini(nn);
		return -ENOMEM;
	}
	memcpy(nn->acl, nn->dacl, nn->dacl_size);
	nn->acl_size = nn->dacl_size;
	if (!acl_create_masq(nn->acl, nn->acl_size, &perm)) {
		free(nn->acl);
		nn->acl = NULL;
		nn->acl_size = 0;
	}
	*mode = (*mode & ~(uint32_t)07777) | perm;
	return 0;
}

int vol_acl_store_new(struct idx_txn *txn, uint64_t ino, bool is_dir, const struct vol_acl_new *nn)
{
	int rc = 0;

	if (nn->acl)
		rc = idx_xattr_set(txn, ino, VOL_ACL_ACCESS, nn->acl, nn->acl_size, 0);
	if (rc == 0 && nn->dacl && is_dir)
		rc = idx_xattr_set(txn, ino, VOL_ACL_DEFAULT, nn->dacl, nn->dacl_size, 0);
	return rc;
}

void vol_acl_new_fini(struct vol_acl_new *nn)
{
	free(nn->dacl);
	free(nn->acl);
	memset(nn, 0, sizeof(*nn));
}

int vol_acl_set_access(struct idx_txn *txn, struct idx_inode *inode, const void *value, size_t size,
		       int flags)
{
	int rc;

	if (!acl_valid(value, size))
		return -EINVAL;
	if (acl_count(size) == 3) {
		/* Nothing beyond owner, group and other: the mode says it all,
		 * so keep no ACL (as ext4 does) and let ls show no '+'. */
		rc = idx_xattr_remove(txn, inode->ino, VOL_ACL_ACCESS);
		if (rc == -ENODATA && (flags & XATTR_REPLACE))
			return -ENODATA;
		if (rc < 0 && rc != -ENODATA)
			return rc;
	} else {
		rc = idx_xattr_set(txn, inode->ino, VOL_ACL_ACCESS, value, size, flags);
		if (rc < 0)
			return rc;
	}
	inode->mode = (inode->mode & ~(uint32_t)0777) | acl_mode_bits(value, size);
	return 0;
}

int vol_acl_chmod(struct idx_txn *txn, uint64_t ino, uint32_t mode)
{
	void *acl;
	size_t size;
	bool has_mask = false;
	int rc = acl_read(txn, ino, VOL_ACL_ACCESS, &acl, &size);

	if (rc < 0 || !acl)
		return rc;
	if (!acl_valid(acl, size)) {
		free(acl);
		return 0;
	}
	for (size_t i = 0; i < acl_count(size); i++)
		if (acl_entry_get(acl, i).tag == ACL_TAG_MASK)
			has_mask = true;
	for (size_t i = 0; i < acl_count(size); i++) {
		switch (acl_entry_get(acl, i).tag) {
		case ACL_TAG_USER_OBJ:
			acl_perm_put(acl, i, (mode >> 6) & 7);
			break;
		case ACL_TAG_GROUP_OBJ:
			if (!has_mask)
				acl_perm_put(acl, i, (mode >> 3) & 7);
			break;
		case ACL_TAG_MASK:
			acl_perm_put(acl, i, (mode >> 3) & 7);
			break;
		case ACL_TAG_OTHER:
			acl_perm_put(acl, i, mode & 7);
			break;
		}
	}
	rc = idx_xattr_set(txn, ino, VOL_ACL_ACCESS, acl, size, 0);
	free(acl);
	return rc;
}
