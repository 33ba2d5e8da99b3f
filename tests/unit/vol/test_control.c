/* The control protocol (fs/vol/control.c): the hello and the commands it
 * lists, an unknown command's error text, the requests from before
 * versioning, "log-level" and "s3-reload" with and without a registered S3
 * server, and the reply parser the tools share. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/base/log.h"
#include "fs/vol/vol_int.h"
#include "tests/harness/tmpvol.h"
#include "tests/unit/vol/fixture.h"

static struct fx f;

static void setup(void)
{
	fx_setup(&f, 0);
}

static void teardown(void)
{
	fx_teardown(&f);
}

Test(control, hello_names_the_version_and_the_commands, .init = setup, .fini = teardown)
{
	char cmds[1024], rep[1024];
	int version = -1;

	cr_assert_eq(vol_control_hello(f.tv.meta, &version, cmds, sizeof(cmds)), 0);
	cr_assert_eq(version, VOL_CONTROL_PROTO);
	cr_assert(strstr(cmds, "info version "), "%s", cmds);
	cr_assert(strstr(cmds, " s3-reload log-level"), "%s", cmds);
	cr_assert_eq(vol_control_request(f.tv.meta, "version", rep, sizeof(rep)), 0);
	cr_assert_eq(strncmp(rep, "ok 1 info ", 10), 0, "%s", rep);

	const char *rest = NULL;
	cr_assert_eq(vol_control_call(f.tv.meta, "version", rep, sizeof(rep), &rest), 0);
	cr_assert_eq(strncmp(rest, "1 info ", 7), 0, "%s", rest);
	cr_assert_eq(vol_control_call(f.tv.meta, "nope", rep, sizeof(rep), NULL), -EINVAL);
}

Test(control, unknown_command_says_what_the_daemon_speaks, .init = setup, .fini = teardown)
{
	char rep[1024];
	const char *msg;

	cr_assert_eq(vol_control_request(f.tv.meta, "frob 1 2", rep, sizeof(rep)), 0);
	cr_assert_eq(vol_control_reply_errno(rep, &msg), EINVAL);
	static const char want[] = "unknown command 'frob'; this daemon speaks control "
				   "protocol 1: info, version, ";
	cr_assert_eq(strncmp(msg, want, sizeof(want) - 1), 0, "%s", msg);
	/* A known command with bad arguments keeps its bare errno. */
	cr_assert_eq(vol_control_request(f.tv.meta, "drain-stop x", rep, sizeof(rep)), 0);
	cr_assert_str_eq(rep, "err 22");
}

Test(control, log_level_at_run_time, .init = setup, .fini = teardown)
{
	char rep[256];

	cr_assert_eq(vol_control_request(f.tv.meta, "log-level debug", rep, sizeof(rep)), 0);
	cr_assert_str_eq(rep, "ok debug");
	cr_assert(tfs_log_enabled(TFS_LOG_DEBUG));
	cr_assert_eq(vol_control_request(f.tv.meta, "log-level", rep, sizeof(rep)), 0);
	cr_assert_str_eq(rep, "ok debug");
	cr_assert_eq(vol_control_request(f.tv.meta, "log-level warning", rep, sizeof(rep)), 0);
	cr_assert_str_eq(rep, "ok warning");
	cr_assert_not(tfs_log_enabled(TFS_LOG_INFO));
	cr_assert_eq(vol_control_request(f.tv.meta, "log-level loud", rep, sizeof(rep)), 0);
	cr_assert_eq(strncmp(rep, "err 22 unknown log level 'loud'", 31), 0, "%s", rep);
	cr_assert_eq(tfs_log_get_level(), TFS_LOG_WARN);
	tfs_log_set_level(TFS_LOG_INFO);
}

static int reloads;

static int fake_reload(void *arg, char *why, size_t len)
{
	reloads++;
	snprintf(why, len, "%s", (const char *)arg);
	return strstr(arg, ":3:") ? -EINVAL : 0;
}

Test(control, s3_reload_reaches_the_registered_server, .init = setup, .fini = teardown)
{
	char rep[1024];
	const char *msg;

	cr_assert_eq(vol_control_request(f.tv.meta, "s3-reload", rep, sizeof(rep)), 0);
	cr_assert_eq(vol_control_reply_errno(rep, &msg), EOPNOTSUPP);
	cr_assert(strstr(msg, "serves no S3"), "%s", msg);

	vol_control_set_reload(f.v, fake_reload, "s3: auth file /x reloaded: 2 grants");
	cr_assert_eq(vol_control_request(f.tv.meta, "s3-reload", rep, sizeof(rep)), 0);
	cr_assert_str_eq(rep, "ok s3: auth file /x reloaded: 2 grants");
	vol_control_set_reload(f.v, fake_reload, "s3: auth file /x:3: expected");
	cr_assert_eq(vol_control_request(f.tv.meta, "s3-reload", rep, sizeof(rep)), 0);
	cr_assert_str_eq(rep, "err 22 s3: auth file /x:3: expected");
	cr_assert_eq(reloads, 2);
	vol_control_set_reload(f.v, NULL, NULL);
}

Test(control, reply_parser)
{
	const char *msg;

	cr_assert_eq(vol_control_reply_errno("ok", &msg), 0);
	cr_assert_str_eq(msg, "");
	cr_assert_eq(vol_control_reply_errno("ok 1 2", &msg), 0);
	cr_assert_str_eq(msg, "1 2");
	cr_assert_eq(vol_control_reply_errno("err 5", &msg), 5);
	cr_assert_str_eq(msg, "");
	cr_assert_eq(vol_control_reply_errno("err 1 permission denied", &msg), 1);
	cr_assert_str_eq(msg, "permission denied");
	cr_assert_eq(vol_control_reply_errno("okay", NULL), EPROTO);
	cr_assert_eq(vol_control_reply_errno("err -3", NULL), EPROTO);
	cr_assert_eq(vol_control_reply_errno("", NULL), EPROTO);
}
