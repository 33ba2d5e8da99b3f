/* XML request bodies (expat) and response escaping. */
#include <criterion/criterion.h>
#include <string.h>

#include "fs/s3/s3_int.h"

Test(xml, delete_objects)
{
	const char *body = "<?xml version=\"1.0\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/"
			   "2006-03-01/\"><Quiet>true</Quiet><Object><Key>a/b&amp;c</Key>"
			   "</Object><Object><Key>x y</Key><VersionId>null</VersionId></Object>"
			   "</Delete>";
	struct s3_delete_list d;

	cr_assert_eq(s3_xml_parse_delete(body, strlen(body), &d), 0);
	cr_assert_eq(d.n, 2);
	cr_assert(d.quiet);
	cr_assert_str_eq(d.keys[0], "a/b&c");
	cr_assert_str_eq(d.keys[1], "x y");
	s3_delete_list_fini(&d);
	cr_assert_eq(s3_xml_parse_delete("<Delete><Object>", 16, &d), -S3E_MALFORMED_XML);
	cr_assert_eq(s3_xml_parse_delete("<Other/>", 8, &d), -S3E_MALFORMED_XML);
	cr_assert_eq(s3_xml_parse_delete("<Delete></Delete>", 17, &d), -S3E_MALFORMED_XML);
}

Test(xml, complete_multipart)
{
	const char *body =
		"<CompleteMultipartUpload><Part><ETag>\"0123456789abcdef0123456789abcdef"
		"\"</ETag><PartNumber>1</PartNumber></Part><Part><PartNumber>3</PartNumber>"
		"<ETag>fedcba9876543210fedcba9876543210</ETag></Part>"
		"</CompleteMultipartUpload>";
	struct s3_complete_list l;

	cr_assert_eq(s3_xml_parse_complete(body, strlen(body), &l), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_eq(l.parts[0].number, 1);
	cr_assert_str_eq(l.parts[0].etag, "0123456789abcdef0123456789abcdef", "quotes removed");
	cr_assert_eq(l.parts[1].number, 3);
	s3_complete_list_fini(&l);
	const char *bad = "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber></Part>"
			  "</CompleteMultipartUpload>";
	cr_assert_eq(s3_xml_parse_complete(bad, strlen(bad), &l), -S3E_INVALID_PART);
}

Test(xml, escaping)
{
	struct s3_sbuf b = {0};

	s3_xml_text(&b, "Key", "<a&b>\"'\x01");
	cr_assert_str_eq(b.p, "<Key>&lt;a&amp;b&gt;&quot;&apos;&#x1;</Key>");
	s3_sb_free(&b);
}

Test(xml, complete_multipart_checksums)
{
	const char *body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
			   "<ETag>\"0123456789abcdef0123456789abcdef\"</ETag>"
			   "<ChecksumCRC64NVME>AAAAAAAAAAA=</ChecksumCRC64NVME></Part>"
			   "<Part><PartNumber>2</PartNumber><ETag>x</ETag></Part>"
			   "</CompleteMultipartUpload>";
	struct s3_complete_list l;

	cr_assert_eq(s3_xml_parse_complete(body, strlen(body), &l), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.parts[0].ck_name, "crc64nvme");
	cr_assert_str_eq(l.parts[0].ck_b64, "AAAAAAAAAAA=");
	cr_assert_str_eq(l.parts[1].ck_name, "", "a part without a checksum");
	s3_complete_list_fini(&l);
}
