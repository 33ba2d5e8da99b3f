/* The S3 sidecar: serves a trackfs volume over the S3 API (HTTP/1.1 on libuv,
 * AWS Signature V4). Bucket = top-level directory, key = path below it. It
 * calls only fs/vol/vol.h, so it runs inside the FUSE daemon or standalone
 * (trackfs-s3) on an unmounted volume. */
#ifndef FS_S3_S3_H
#define FS_S3_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vol;
struct s3_server;

/** Name of the hidden top-level directory that holds multipart uploads in
 * progress (/.trackfs-s3/uploads/<id>/<part>). Front ends should hide it. */
#define S3_HIDDEN_DIR ".trackfs-s3"
/** Prefix of the temporary files that PUTs write before renaming them onto
 * their key; listings skip them, front ends may hide them. */
#define S3_TMP_PREFIX ".trackfs-s3-tmp."

/**
 * Reserve the sidecar's names in @p v (vol_reserve_name): S3_HIDDEN_DIR in
 * the root, S3_TMP_PREFIX in every directory. Every process that opens a
 * volume calls it before serving (the FUSE daemon whether or not it runs the
 * sidecar: the volume may be served over S3 later). @return 0 or -errno.
 */
int s3_reserve_names(struct vol *v);

struct s3_config {
	/** "HOST:PORT" to listen on; NULL = "127.0.0.1:9000". Port 0 picks a
	 * free port (see s3_server_port). */
	const char *listen;
	/** Region clients sign for; NULL = "us-east-1". */
	const char *region;
	/** Auth file: lines "ACCESS_KEY SECRET_KEY rw|ro BUCKET|*" and
	 * "anonymous ro BUCKET"; '#' starts a comment. Required unless no_auth. */
	const char *auth_file;
	/** Serve everything without authentication (tests, trusted loopback). */
	bool no_auth;
	/** Domain for virtual-hosted-style addressing (BUCKET.DOMAIN); NULL =
	 * "localhost". Any other Host means path-style. */
	const char *vhost_domain;
	/** Seconds a keep-alive connection may stay idle, and a request may take
	 * to send its headers or pause inside its body; 0 = 60 / 30 / 60. */
	unsigned idle_timeout_s, header_timeout_s, body_timeout_s;
	/** Answer writes (PUT, copy, multipart complete) before they are durable
	 * (the volume's group commit makes them so within a second or two);
	 * by default each is synced first. */
	bool no_sync;
	/** Run writing requests' final step (commit, fsync) on the event loop
	 * itself, as before it moved to the thread pool: for benchmarks that
	 * compare the two. */
	bool inline_writes;
	/** Event-loop threads serving connections; 0 = 4. */
	unsigned threads;
	/** Seconds after which an abandoned multipart upload is removed; 0 = 7 days. */
	unsigned upload_expiry_s;
	/**
	 * Called on the sidecar's thread after every change made over S3 to a
	 * name: a key's file created, overwritten, deleted or renamed into place,
	 * and a directory created or removed (@p ino is 0 for a removal). The
	 * FUSE daemon uses it to invalidate the kernel's entry and attribute
	 * caches. May be NULL. Must not call back into the sidecar.
	 */
	void (*on_change)(void *arg, uint64_t parent_ino, const char *name, uint64_t ino);
	void *on_change_arg;
};

/**
 * Bind the listener and start serving @p v on threads of its own (libuv
 * loops; SIGPIPE is set to be ignored). The volume must stay open until
 * s3_server_stop returns. The config's strings are copied.
 * @return 0, -EADDRINUSE / -EACCES / -EINVAL (bad address), -ENOENT or -EINVAL
 * (auth file missing or malformed; logged with the line), -ENOMEM.
 */
int s3_server_start(struct vol *v, const struct s3_config *cfg, struct s3_server **out);

/**
 * Read the auth file again and serve with the new credentials from the next
 * request on; requests in progress finish with the old ones. Safe from any
 * thread while the server runs. A file that does not load changes nothing.
 * @return 0 (@p why: what was loaded) or -errno (@p why: the reason, naming
 * the file and line; -EINVAL also when serving without authentication).
 */
int s3_server_reload_auth(struct s3_server *s, char *why, size_t whylen);

/** What SIGHUP does, in trackfs-s3 and the mount daemon alike: reload the
 * auth file (s3_server_reload_auth), logging what happened. */
void s3_server_sighup(struct s3_server *s);

/** The TCP port actually bound (useful with port 0). */
int s3_server_port(const struct s3_server *s);

/** Close the listener and every connection, stop the thread and free @p s.
 * Requests in progress are cut off (their temporary files are removed).
 * Accepts NULL. */
void s3_server_stop(struct s3_server *s);

#endif
