/* Owners, modes and POSIX ACLs of new and changed nodes. With
 * FUSE_CAP_POSIX_ACL the kernel enforces ACLs stored as system.posix_acl_*
 * xattrs but leaves three things to the filesystem, done here as ext4 does
 * them: inheriting a directory's default ACL (in place of the umask),
 * keeping the mode in step when an access ACL is set, and rewriting the ACL
 * on chmod. The set-group-ID directory rule for new nodes lives here too.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "fs/fuse/fs_fuse.h"

/* The xattr form of an ACL (linux/posix_acl_xattr.h): a little-endian
 * version word, then entries of tag, permissions and id. */
#define ACL_XATTR_VERSION 2
#define ACL_TAG_USER_OBJ 0x01
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP_OBJ 0x04
#define ACL_TAG_GROUP 0x08
#define ACL_TAG_MASK 0x10
#define ACL_TAG_OTHER 0x20

static const char ACL_ACCESS[] = "system.posix_acl_access";
static const char ACL_DEFAULT[] = "system.posix_acl_default";

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

/* Read xattr @p name of @p ino into a malloc'ed buffer; *out is NULL (and 0
 * returned) when there is none. The value may change between the size query
 * and the read, so -ERANGE is retried. */
static int acl_get(struct vol *v, uint64_t ino, const char *name, void **out, size_t *size)
{
	for (int tries = 0; tries < 4; tries++) {
		ssize_t n = vol_getxattr(v, ino, name, NULL, 0);
		void *buf;

		if (n == -ENODATA || n == 0) {
			*out = NULL;
			*size = 0;
			return 0;
		}
		if (n < 0)
			return (int)n;
		buf = malloc((size_t)n);
		if (!buf)
			return -ENOMEM;
		ssize_t got = vol_getxattr(v, ino, name, buf, (size_t)n);
		if (got >= 0) {
			*out = buf;
			*size = (size_t)got;
			return 0;
		}
		free(buf);
		if (got != -ERANGE)
			return (int)got;
	}
	return -EAGAIN;
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

int fs_newnode_prepare(fuse_req_t req, uint64_t parent, uint32_t mode, struct fs_newnode *nn)
{
	struct fs_daemon *d = fs_req_daemon(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct vol_attr pa;
	int rc;

	memset(nn, 0, sizeof(*nn));
	nn->cred.uid = ctx->uid;
	nn->cred.gid = ctx->gid;
	rc = vol_getattr(d->vol, parent, &pa);
	if (rc < 0)
		return rc;
	if (pa.mode & S_ISGID) {
		/* BSD group semantics of set-group-ID directories. */
		nn->cred.gid = pa.gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	if (d->posix_acl && !S_ISLNK(mode)) {
		rc = acl_get(d->vol, parent, ACL_DEFAULT, &nn->dacl, &nn->dacl_size);
		if (rc < 0)
			return rc;
		if (nn->dacl && !acl_valid(nn->dacl, nn->dacl_size)) {
			tfs_warn("fuse: directory inode %" PRIu64 " has a malformed default ACL; "
				 "ignoring it (remove it with setfacl -k)",
				 parent);
			free(nn->dacl);
			nn->dacl = NULL;
		}
	}
	if (nn->dacl) {
		nn->acl = malloc(nn->dacl_size);
		if (!nn->acl) {
			fs_newnode_fini(nn);
			return -ENOMEM;
		}
		memcpy(nn->acl, nn->dacl, nn->dacl_size);
		nn->acl_size = nn->dacl_size;
		uint32_t perm = mode & 07777;
		if (!acl_create_masq(nn->acl, nn->acl_size, &perm)) {
			free(nn->acl);
			nn->acl = NULL;
		}
		mode = (mode & ~(uint32_t)07777) | perm;
	} else if (d->dont_mask && !S_ISLNK(mode)) {
		/* The kernel left the umask to us so that a default ACL could
		 * take its place; there is none, so apply it. */
		mode &= ~(uint32_t)ctx->umask;
	}
	nn->mode = mode;
	return 0;
}

void fs_newnode_finish(struct fs_daemon *d, struct fs_newnode *nn, struct vol_attr *a)
{
	int rc = 0;

	if (nn->acl)
		rc = vol_setxattr(d->vol, a->ino, ACL_ACCESS, nn->acl, nn->acl_size, 0);
	if (rc == 0 && nn->dacl && S_ISDIR(a->mode))
		rc = vol_setxattr(d->vol, a->ino, ACL_DEFAULT, nn->dacl, nn->dacl_size, 0);
	if (rc < 0)
		tfs_warn("fuse: could not store the ACL inherited by new inode %" PRIu64
			 ": %s; its mode applies (set the ACL again with setfacl)",
			 a->ino, tfs_strerror(rc));
	if (nn->acl || nn->dacl) {
		struct vol_attr fresh;

		if (vol_getattr(d->vol, a->ino, &fresh) == 0)
			*a = fresh;
	}
	fs_newnode_fini(nn);
}

void fs_newnode_fini(struct fs_newnode *nn)
{
	free(nn->dacl);
	free(nn->acl);
	nn->dacl = NULL;
	nn->acl = NULL;
}

/* Set the permission bits of @p ino to @p bits, keeping type and special bits. */
static int acl_set_mode_bits(struct fs_daemon *d, uint64_t ino, uint32_t bits)
{
	struct vol_attr a, in, out;
	int rc;

	rc = vol_getattr(d->vol, ino, &a);
	if (rc < 0)
		return rc;
	if ((a.mode & 0777) == bits)
		return 0;
	memset(&in, 0, sizeof(in));
	in.mode = (a.mode & ~(uint32_t)0777) | bits;
	return vol_setattr(d->vol, ino, &in, VOL_SET_MODE, &out);
}

int fs_acl_set_access(struct fs_daemon *d, uint64_t ino, const void *value, size_t size, int flags)
{
	int rc;

	if (!acl_valid(value, size))
		return -EINVAL;
	if (acl_count(size) == 3) {
		/* Nothing beyond owner, group and other: the mode says it all,
		 * so keep no ACL (as ext4 does) and let ls show no '+'. */
		rc = vol_removexattr(d->vol, ino, ACL_ACCESS);
		if (rc < 0 && rc != -ENODATA)
			return rc;
		if (rc == -ENODATA && (flags & XATTR_REPLACE))
			return -ENODATA;
	} else {
		rc = vol_setxattr(d->vol, ino, ACL_ACCESS, value, size, flags);
		if (rc < 0)
			return rc;
	}
	return acl_set_mode_bits(d, ino, acl_mode_bits(value, size));
}

int fs_acl_chmod(struct fs_daemon *d, uint64_t ino, uint32_t mode)
{
	void *acl;
	size_t size;
	int rc;

	rc = acl_get(d->vol, ino, ACL_ACCESS, &acl, &size);
	if (rc < 0 || !acl)
		return rc;
	if (!acl_valid(acl, size)) {
		free(acl);
		return 0;
	}
	bool has_mask = false;

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
	rc = vol_setxattr(d->vol, ino, ACL_ACCESS, acl, size, 0);
	free(acl);
	return rc;
}
