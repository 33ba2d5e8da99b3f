/* Tag sets (tagging.c): the x-amz-tagging query and the <Tagging> document
 * parse to the same set, S3's limits are enforced with the error AWS gives,
 * and the canonical query written to the xattr parses back unchanged. */
#include <criterion/criterion.h>
#include <string.h>

#include "fs/s3/s3_int.h"

static char why[300];

static int q(const char *s, size_t max, struct s3_tags *t)
{
	why[0] = '\0';
	return s3_tags_parse_query(s, max, t, why, sizeof(why));
}

Test(tagging, query_decodes_and_round_trips)
{
	struct s3_tags t, back;
	struct s3_sbuf b = {0};

	cr_assert_eq(q("a=1&two%20words=x+y&empty=&bare", S3_TAGS_OBJECT_MAX, &t), 0, "%s", why);
	cr_assert_eq(t.n, 4);
	cr_assert_str_eq(t.key[1], "two words");
	cr_assert_str_eq(t.val[1], "x y");
	cr_assert_str_eq(t.val[2], "");
	cr_assert_str_eq(t.key[3], "bare");
	cr_assert_str_eq(t.val[3], "");
	s3_tags_to_query(&t, &b);
	cr_assert_eq(q(b.p, S3_TAGS_OBJECT_MAX, &back), 0);
	cr_assert_eq(back.n, t.n);
	for (size_t i = 0; i < t.n; i++) {
		cr_assert_str_eq(back.key[i], t.key[i]);
		cr_assert_str_eq(back.val[i], t.val[i]);
	}
	s3_sb_free(&b);
	s3_tags_fini(&t);
	s3_tags_fini(&back);
}

Test(tagging, limits)
{
	struct s3_tags t;
	char many[1024] = "";
	char key[200], val[300];

	for (int i = 0; i < 11; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sk%d=v", i ? "&" : "",
			 i);
	cr_assert_eq(q(many, S3_TAGS_OBJECT_MAX, &t), -S3E_BAD_REQUEST);
	cr_assert_eq(q(many, S3_TAGS_BUCKET_MAX, &t), 0);
	s3_tags_fini(&t);
	cr_assert_eq(q("aws:x=1", 10, &t), -S3E_INVALID_TAG);
	cr_assert_eq(q("AWS:x=1", 10, &t), -S3E_INVALID_TAG);
	cr_assert_eq(q("a=1&a=2", 10, &t), -S3E_INVALID_TAG);
	cr_assert_eq(q("=v", 10, &t), -S3E_INVALID_TAG);
	cr_assert_eq(q("a=%zz", 10, &t), -S3E_INVALID_ARGUMENT);
	cr_assert_eq(q("a=%01", 10, &t), -S3E_INVALID_TAG, "a control character");
	cr_assert_eq(q("a=%ff", 10, &t), -S3E_INVALID_TAG, "not UTF-8");
	memset(key, 'k', 128);
	key[128] = '\0';
	memset(val, 'v', 256);
	val[256] = '\0';
	char ok[600];
	snprintf(ok, sizeof(ok), "%s=%s", key, val);
	cr_assert_eq(q(ok, 10, &t), 0);
	s3_tags_fini(&t);
	snprintf(ok, sizeof(ok), "%sk=%s", key, val);
	cr_assert_eq(q(ok, 10, &t), -S3E_INVALID_TAG, "129 characters");
	/* 128 characters of two bytes each are 128 characters. */
	char wide[1024] = "";
	for (int i = 0; i < 128; i++)
		strcat(wide, "%D0%B6");
	strcat(wide, "=1");
	cr_assert_eq(q(wide, 10, &t), 0, "%s", why);
	s3_tags_fini(&t);
}

Test(tagging, xml)
{
	static const char doc[] = "<?xml version=\"1.0\"?><Tagging xmlns=\"http://s3.amazonaws.com/"
				  "doc/2006-03-01/\"><TagSet><Tag><Key>a &amp; b</Key><Value>1"
				  "</Value></Tag><Tag><Key>c</Key><Value></Value></Tag></TagSet>"
				  "</Tagging>";
	struct s3_tags t;
	struct s3_sbuf b = {0};

	cr_assert_eq(s3_tags_parse_xml(doc, strlen(doc), 10, &t, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.key[0], "a & b");
	cr_assert_str_eq(t.val[1], "");
	s3_tags_to_xml(&t, &b);
	cr_assert(strstr(b.p, "<Key>a &amp; b</Key>"), "%s", b.p);
	s3_sb_free(&b);
	s3_tags_fini(&t);

	static const char *const bad[] = {
		"<Tagging><TagSet><Tag><Key>a</Key></Tag></TagSet></Tagging>",
		"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><Key>b</Key></Tag></TagSet>"
		"</Tagging>",
		"<Tags><TagSet/></Tags>",
		"<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value><Extra/></Tag></TagSet></"
		"Tagging>",
		"<Tagging><TagSet>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(s3_tags_parse_xml(bad[i], strlen(bad[i]), 10, &t, why, sizeof(why)),
			     -S3E_MALFORMED_XML, "%s", bad[i]);
}
