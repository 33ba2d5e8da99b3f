/* The sidecar's metrics: every completed request counted by operation and
 * status class, bytes in and out, a duration histogram and the open
 * connections; served with the volume's figures (vol_metrics_format) at
 * GET /.trackfs/metrics in the Prometheus text format 0.0.4 (".trackfs" is
 * no valid bucket name, so no bucket hides it). Who may scrape: any request
 * signed with a key of the auth file (read-only keys too), and unsigned
 * requests from a loopback address; with s3_no_auth, everyone. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/s3/s3_int.h"

/* Upper bounds of the duration buckets, in seconds (the last is +Inf). */
static const double bucket_le[S3_MET_BUCKETS - 1] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
						     0.25,  0.5,   1,	 2.5,	10};

int s3_metrics_init(struct s3_metrics *m)
{
	memset(m, 0, sizeof(*m));
	return uv_mutex_init(&m->mu) == 0 ? 0 : -ENOMEM;
}

void s3_metrics_fini(struct s3_metrics *m)
{
	uv_mutex_destroy(&m->mu);
}

void s3_metrics_note(struct s3_conn *c)
{
	struct s3_metrics *m = &c->srv->met;
	struct s3_req *r = &c->req;
	const char *name = r->h ? r->h->name : "Unknown";
	int cls = r->status / 100 - 1;
	double s = r->t0_ms ? (double)(s3_now_ms() - r->t0_ms) / 1000.0 : 0;
	unsigned b = 0;

	if (cls < 0 || cls > 4)
		cls = 4;
	while (b < S3_MET_BUCKETS - 1 && s > bucket_le[b])
		b++;
	uv_mutex_lock(&m->mu);
	unsigned i = 0;
	while (i < m->nops && strcmp(m->ops[i].name, name))
		i++;
	if (i == m->nops && m->nops < S3_MET_OPS)
		m->ops[m->nops++].name = name;
	if (i < m->nops)
		m->ops[i].by_class[cls]++;
	m->bytes_in += r->body_bytes;
	m->bytes_out += r->bytes_out;
	m->dur_buckets[b]++;
	m->dur_count++;
	m->dur_sum_s += s;
	uv_mutex_unlock(&m->mu);
}

static void s3_section(FILE *out, struct s3_server *srv)
{
	struct s3_metrics *m = &srv->met;

	uv_mutex_lock(&m->mu);
	vol_metrics_head(out, "trackfs_s3_requests_total", "counter",
			 "S3 requests answered, by operation and status class.");
	for (unsigned i = 0; i < m->nops; i++)
		for (int k = 0; k < 5; k++)
			if (m->ops[i].by_class[k])
				fprintf(out,
					"trackfs_s3_requests_total{op=\"%s\",code=\"%dxx\"} "
					"%" PRIu64 "\n",
					m->ops[i].name, k + 1, m->ops[i].by_class[k]);
	vol_metrics_head(out, "trackfs_s3_received_bytes_total", "counter",
			 "Request body bytes received (decoded).");
	fprintf(out, "trackfs_s3_received_bytes_total %" PRIu64 "\n", m->bytes_in);
	vol_metrics_head(out, "trackfs_s3_sent_bytes_total", "counter",
			 "Response bytes sent, headers included.");
	fprintf(out, "trackfs_s3_sent_bytes_total %" PRIu64 "\n", m->bytes_out);
	vol_metrics_head(out, "trackfs_s3_request_duration_seconds", "histogram",
			 "Time from a request's first byte to its response's last.");
	uint64_t cum = 0;
	for (unsigned b = 0; b < S3_MET_BUCKETS; b++) {
		cum += m->dur_buckets[b];
		if (b < S3_MET_BUCKETS - 1)
			fprintf(out,
				"trackfs_s3_request_duration_seconds_bucket{le=\"%g\"} %" PRIu64
				"\n",
				bucket_le[b], cum);
		else
			fprintf(out,
				"trackfs_s3_request_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64
				"\n",
				cum);
	}
	fprintf(out, "trackfs_s3_request_duration_seconds_sum %.6f\n", m->dur_sum_s);
	fprintf(out, "trackfs_s3_request_duration_seconds_count %" PRIu64 "\n", m->dur_count);
	uv_mutex_unlock(&m->mu);
	vol_metrics_head(out, "trackfs_s3_open_connections", "gauge",
			 "Client connections open now.");
	fprintf(out, "trackfs_s3_open_connections %u\n", atomic_load(&srv->nconns));
}

static int metrics_start(struct s3_conn *c)
{
	return 0;
}

static void metrics_done(struct s3_conn *c)
{
	char *body = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&body, &len);
	int rc = out ? vol_metrics_format(c->srv->v, out) : -ENOMEM;

	if (out) {
		if (rc == 0)
			s3_section(out, c->srv);
		fclose(out);
	}
	if (rc < 0) {
		tfs_warn("s3: metrics: cannot read the volume's figures: %s", tfs_strerror(rc));
		free(body);
		s3_resp_error(c, rc);
		return;
	}
	s3_resp_start(c, 200);
	s3_resp_hdr(c, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	s3_resp_finish(c, body, len);
	free(body);
}

static const struct s3_handler op_metrics = {"Metrics",	    false, false,	 0,
					     metrics_start, NULL,  metrics_done, NULL};

static bool loopback(struct s3_conn *c)
{
	if (!c->peer[0])
		s3_conn_peer(c);
	return !strncmp(c->peer, "127.", 4) || !strncmp(c->peer, "[::1]:", 6) ||
	       !strncmp(c->peer, "[::ffff:127.", 12);
}

int s3_metrics_route(struct s3_conn *c)
{
	struct s3_req *r = &c->req;
	int rc;

	if (!r->bucket || strcmp(r->bucket, ".trackfs") || strcmp(r->key, "metrics"))
		return 1;
	r->h = &op_metrics;
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD"))
		return -S3E_METHOD_NOT_ALLOWED;
	if (c->srv->cfg.no_auth)
		return 0;
	if (!s3_hdr(r, "authorization") && !s3_qhas(r, "X-Amz-Signature")) {
		if (loopback(c))
			return 0;
		s3_req_errmsg(c, "Metrics need a signed request, or an unsigned one from "
				 "loopback");
		return -S3E_ACCESS_DENIED;
	}
	rc = s3_sigv4_check(c, time(NULL));
	if (rc)
		return rc;
	return r->id.access_key ? 0 : -S3E_ACCESS_DENIED;
}
