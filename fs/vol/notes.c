/* Front ends' notes for status: a line each front end may set about the
 * open volume (the S3 sidecar: its public-read buckets), kept in memory and
 * answered with vol_info. One lock for every volume: notes change rarely. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "fs/vol/vol_int.h"

static pthread_mutex_t notes_mu = PTHREAD_MUTEX_INITIALIZER;

int vol_note_set(struct vol *v, const char *key, const char *text)
{
	struct vol_note *free_slot = NULL, *n = NULL;

	if (!key || !key[0] || strlen(key) >= sizeof(v->notes[0].key) || strpbrk(key, " \t\n"))
		return -EINVAL;
	pthread_mutex_lock(&notes_mu);
	for (unsigned i = 0; i < VOL_NOTES_MAX; i++) {
		if (!strcmp(v->notes[i].key, key))
			n = &v->notes[i];
		else if (!v->notes[i].key[0] && !free_slot)
			free_slot = &v->notes[i];
	}
	if (!text || !text[0]) {
		if (n)
			memset(n, 0, sizeof(*n));
		pthread_mutex_unlock(&notes_mu);
		return 0;
	}
	if (!n)
		n = free_slot;
	if (!n) {
		pthread_mutex_unlock(&notes_mu);
		return -ENOSPC;
	}
	snprintf(n->key, sizeof(n->key), "%s", key);
	snprintf(n->text, sizeof(n->text), "%s", text);
	n->text[strcspn(n->text, "\n")] = '\0'; /* one line */
	pthread_mutex_unlock(&notes_mu);
	return 0;
}

void vol_notes_get(struct vol *v, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	pthread_mutex_lock(&notes_mu);
	for (unsigned i = 0; i < VOL_NOTES_MAX && len < size; i++)
		if (v->notes[i].key[0]) {
			int w = snprintf(out + len, size - len, "%s\t%s\n", v->notes[i].key,
					 v->notes[i].text);
			if (w > 0)
				len += (size_t)w;
		}
	pthread_mutex_unlock(&notes_mu);
}
