#!/usr/bin/env python3
"""Regenerates the committed seed corpora under tests/fuzz/corpus/<target>/.

    python3 tests/fuzz/make_corpus.py

Seeds come from the repository's own test data (tests/data/records,
tests/data/checkpoint, config/*.toml, the README's templates) plus hand-made
edge cases: 100,000-level nesting, a 1 MiB record, invalid UTF-8, NUL bytes,
10,000-digit numbers. Deterministic: running it twice gives the same files.
Files are named after what they hold; the directory is replaced wholesale.
"""
import base64
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
DEEP = 100_000
MIB = 1 << 20


def read(*path):
    with open(os.path.join(ROOT, *path), "rb") as f:
        return f.read()


def record(new_image=None, keys=None, event_name="INSERT", table="orders", when=b"1716200000123",
           extra=b""):
    keys = keys if keys is not None else b'{"pk":{"S":"order#1"}}'
    img = b',"NewImage":' + new_image if new_image is not None else b""
    return (b'{"awsRegion":"us-east-1","eventID":"e-1","eventName":"' + event_name.encode() +
            b'","userIdentity":null,"recordFormat":"application/json","tableName":"' +
            table.encode() + b'","dynamodb":{"ApproximateCreationDateTime":' + when +
            b',"Keys":' + keys + img + b',"SizeBytes":42}' + extra +
            b',"eventSource":"aws:dynamodb"}')


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pb_varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def pb_len(field, data):
    return pb_varint(field << 3 | 2) + pb_varint(len(data)) + data


def kpl_protobuf(records):
    """The AggregatedRecord protobuf of [(partition key, data)] (decode/kpl.h);
    decode_fuzz adds the magic and MD5 itself."""
    keys = []
    body = b""
    for pk, data in records:
        if pk not in keys:
            keys.append(pk)
        body += pb_len(3, pb_varint(1 << 3) + pb_varint(keys.index(pk)) + pb_len(3, data))
    return b"".join(pb_len(1, k) for k in keys) + body


def decode_seeds():
    t = "decode_fuzz"
    recdir = os.path.join(ROOT, "tests", "data", "records")
    for name in sorted(os.listdir(recdir)):
        data = read("tests", "data", "records", name)
        write(t, name, data)
        # The target also uses the input directly as data_base64.
        write(t, name[:-5] + ".b64", base64.b64encode(data))
    write(t, "deep_array_100k", b"[" * DEEP + b"]" * DEEP)
    write(t, "deep_object_100k", b'{"a":' * DEEP + b"1" + b"}" * DEEP)
    write(t, "deep_in_new_image_100k", record(b'{"x":{"L":' + b"[" * DEEP + b"]" * DEEP + b"}}"))
    write(t, "deep_typed_200", record(b'{"x":' + b'{"M":{"a":' * 200 + b'{"S":"v"}' + b"}}" * 200 + b"}"))
    big = b"x" * (MIB - 400)
    write(t, "one_mib_record", record(b'{"pk":{"S":"order#1"},"blob":{"S":"' + big + b'"}}'))
    write(t, "invalid_utf8", record(b'{"pk":{"S":"bad \xff\xfe \xc3( \xed\xa0\x80"}}'))
    write(t, "invalid_utf8_b64", b"eyJh\xff\xfeIjox")
    write(t, "nul_inside_string", record(b'{"pk":{"S":"a\x00b"}}'))
    write(t, "nul_after_record", record(b'{"pk":{"S":"a"}}') + b"\x00garbage")
    write(t, "escaped_nul", record(b'{"pk":{"S":"a\\u0000b"}}'))
    digits = b"9" * 10_000
    write(t, "n_10000_digits", record(b'{"n":{"N":"' + digits + b'"}}'))
    write(t, "n_10000_digits_exp", record(b'{"n":{"N":"-0.' + digits + b'e-12345"}}'))
    write(t, "json_number_10000_digits", record(b'{"n":{"N":"1"}}', extra=b',"big":' + digits))
    write(t, "time_10000_digits", record(b'{"n":{"N":"1"}}', when=digits))
    write(t, "sets_and_binary", record(
        b'{"ss":{"SS":["a","b"]},"ns":{"NS":["1","-2.5e3"]},"bs":{"BS":["AA==",""]},'
        b'"b":{"B":"3q2+7w=="},"t":{"BOOL":true},"z":{"NULL":true},"l":{"L":[]},"m":{"M":{}}}'))
    write(t, "micros", record(b'{"a":{"S":"x"}}', when=b"1716200000123456",
                              extra=b"").replace(b'"SizeBytes":42',
                                                 b'"SizeBytes":42,"ApproximateCreationDateTimePrecision":"MICROSECOND"'))
    write(t, "surrogates", record(b'{"a":{"S":"\\ud83d\\ude00 \\udc00"}}'))
    write(t, "empty", b"")
    write(t, "bad_base64", b"not base64!")
    write(t, "kpl_aggregate", kpl_protobuf([(b"pk-a", record(b'{"pk":{"S":"order#1"}}')),
                                            (b"pk-b", record(b'{"pk":{"S":"order#2"}}', table="users")),
                                            (b"pk-a", b"not json")]))


def template_seeds():
    t = "template_fuzz"
    seeds = {
        "readme_prefix": "ddb/{table}/dt={event_time:%Y-%m-%d}/hr={event_time:%H}/",
        "readme_error_prefix": "errors/{error}/dt={arrival_time:%Y-%m-%d}/",
        "all_names": "{table}/{event_name}/{stream}/{shard_id}/{error}/",
        "all_conversions": "{event_time:%Y %m %d %H %M %S %j %y %e %G %V %u %%}",
        "iso_week": "w/{arrival_time:%G-W%V-%u}/",
        "literal_braces": "{{literal}}/{table}/}}{{",
        "format_with_slash": "{event_time:%Y/%m/%d}/",
        "unterminated": "a/{table",
        "unbalanced_close": "a/table}/",
        "unknown_name": "{tabel}/",
        "unknown_conversion": "{event_time:%Q}",
        "empty_format": "{event_time:}",
        "no_conversion": "{event_time:day}",
        "lone_percent": "{event_time:%Y%}",
        "format_on_non_time": "{table:%Y}",
        "spaces": "{ table }",
        "empty": "",
    }
    for name, text in seeds.items():
        write(t, name, text.encode())
    write(t, "invalid_utf8", b"d/\xff\xfe/{table}/\xc3(")
    write(t, "nul_bytes", b"a\x00b/{table}/\x00{event_time:%Y\x00}")
    write(t, "many_braces", b"{{" * 50_000)
    write(t, "many_placeholders", b"{table}" * 2_000)
    write(t, "digits_10000", b"1" * 10_000 + b"{event_time:%Y}")


def config_seeds():
    t = "config_fuzz"
    cfgdir = os.path.join(ROOT, "config")
    for name in sorted(os.listdir(cfgdir)):
        if name.endswith(".toml"):
            write(t, name, read("config", name))
    minimal = b'[source]\nstream_name = "orders"\n[output]\nbucket = "lake"\n'
    write(t, "minimal.toml", minimal)
    write(t, "at_timestamp.toml",
          b'[source]\nstream_arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"\n'
          b'region = "eu-west-1"\ninitial_position = "AT_TIMESTAMP"\n'
          b'initial_timestamp = "2024-05-20T10:13:20.123+02:00"\n'
          b'[output]\nendpoint_url = "file:///tmp/lake"\nformat = "raw"\ncompression = "none"\n'
          b'sse = "aws:kms"\nsse_kms_key_id = "k"\n[shutdown]\ngrace_period_s = 5\n')
    write(t, "deep_array_100k.toml", minimal + b"[batch]\nmax_bytes = " + b"[" * DEEP + b"]" * DEEP + b"\n")
    write(t, "deep_inline_table_100k.toml", minimal + b"x = " + b"{a=" * DEEP + b"1" + b"}" * DEEP + b"\n")
    write(t, "digits_10000.toml", minimal + b"[batch]\nmax_bytes = " + b"9" * 10_000 + b"\n")
    write(t, "invalid_utf8.toml", b'[source]\nstream_name = "ord\xff\xfeers"\n[output]\nbucket = "lake"\n')
    write(t, "nul_bytes.toml", b'[source]\nstream_name = "ord\x00ers"\n[output]\nbucket = "lake"\n')
    write(t, "unknown_keys.toml", minimal + b"[batch]\nmax_byte = 5\n[sourc]\nx = 1\n")
    write(t, "bad_templates.toml", minimal + b'prefix = "{tabel}/"\n')
    write(t, "bad_values.toml",
          b'[source]\nstream_name = "a"\nstream_arn = "arn:x"\npoll_threads = 0\n'
          b'[batch]\nmax_bytes = -1\nmax_buffered_bytes = 1\n[output]\nendpoint_url = "ftp://"\n'
          b'sse_kms_key_id = "k"\ncompression_level = 10\n')
    write(t, "syntax_error.toml", b"[source\nstream_name = \n")
    write(t, "empty.toml", b"")


def checkpoint_seeds():
    t = "checkpoint_fuzz"
    ckdir = os.path.join(ROOT, "tests", "data", "checkpoint")
    valid = read("tests", "data", "checkpoint", "valid.json")
    for name in sorted(os.listdir(ckdir)):
        write(t, name, read("tests", "data", "checkpoint", name))
    # The target also wraps the input as a BODY with a correct CRC.
    start = valid.index(b'"body":') + len(b'"body":')
    body = valid[start:-2]
    write(t, "valid_body", body)
    pending = body.replace(
        b'"pending":[]',
        b'"pending":[\n{"partition":"ddb/orders/dt=2024-05-20/","key":"ddb/orders/k.json.gz",'
        b'"uploaded":false,"ranges":{"shardId-000000000002":{"first":"1","last":"2"},'
        b'"shardId-000000000003":{"first":"3","last":"300"}}}\n]')
    write(t, "body_with_pending", pending)
    write(t, "body_invalid_utf8", body.replace(b"orders-ddb-stream\"", b"orders\xff\xfe\"", 1))
    write(t, "body_escaped_nul", body.replace(b"orders-ddb-stream\"", b"orders\\u0000x\"", 1))
    write(t, "body_raw_nul", body.replace(b"orders-ddb-stream\"", b"orders\x00x\"", 1))
    write(t, "body_seq_10000_digits", body.replace(b'"sequence":""', b'"sequence":"' + b"1" * 10_000 + b'"'))
    write(t, "body_generation_10000_digits", body.replace(b'"generation":42', b'"generation":' + b"9" * 10_000))
    write(t, "body_deep_100k", b"[" * DEEP + b"]" * DEEP)
    write(t, "body_deep_in_field_100k", body.replace(b'"written_at":', b'"x":' + b"[" * DEEP + b"]" * DEEP + b',"written_at":'))
    write(t, "body_duplicate_field", body.replace(b'"generation":42', b'"generation":42,"generation":43'))
    write(t, "version_7", valid.replace(b'"version":1', b'"version":7'))
    write(t, "empty", b"")


def get_records_seeds():
    t = "get_records_fuzz"
    recdir = os.path.join(ROOT, "tests", "data", "records")
    recs = []
    for i, name in enumerate(sorted(os.listdir(recdir))):
        data = read("tests", "data", "records", name)
        recs.append({"Data": base64.b64encode(data).decode(), "PartitionKey": "pk%d" % i,
                     "SequenceNumber": "4968%052d" % i,
                     "ApproximateArrivalTimestamp": 1716200000.123 + i})
    write(t, "corpus_records", json.dumps({"Records": recs, "NextShardIterator": "AAAA",
                                           "MillisBehindLatest": 0}).encode())
    write(t, "unit_test_page", (
        b'{"Records":[{"Data":"eyJhIjoxfQ==","PartitionKey":"k1","SequenceNumber":"4968001",'
        b'"ApproximateArrivalTimestamp":1716200000.123},{"Data":"e30=","PartitionKey":"k\\u00e92",'
        b'"SequenceNumber":"4968002","ApproximateArrivalTimestamp":1716200001}],'
        b'"NextShardIterator":"AAAA","MillisBehindLatest":1500}'))
    write(t, "closed_with_children", (
        b'{"Records":[],"MillisBehindLatest":0,"ChildShards":[{"ShardId":"shardId-000000000004",'
        b'"ParentShards":["shardId-000000000001","shardId-000000000002"],'
        b'"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"1"}}]}'))
    big = record(b'{"pk":{"S":"order#1"},"blob":{"S":"' + b"x" * (MIB - 400) + b'"}}')
    write(t, "one_mib_record", json.dumps({"Records": [{"Data": base64.b64encode(big).decode(),
                                                        "PartitionKey": "p", "SequenceNumber": "1"}],
                                           "NextShardIterator": "A"}).encode())
    # 100,000-level nesting overflows the stack of ParseGetRecords' recursive
    # parse: it is in regressions/get_records_fuzz/ until that is fixed.
    write(t, "deep_1000", b'{"Records":[],"x":' + b"[" * 1000 + b"]" * 1000 + b"}")
    write(t, "timestamp_10000_digits", b'{"Records":[{"Data":"","SequenceNumber":"1",'
          b'"ApproximateArrivalTimestamp":' + b"9" * 10_000 + b"}]}")
    write(t, "timestamp_huge", b'{"Records":[{"Data":"","SequenceNumber":"1",'
          b'"ApproximateArrivalTimestamp":1e300}]}')
    write(t, "invalid_utf8", b'{"Records":[{"Data":"\xff\xfe","SequenceNumber":"1\xc3("}]}')
    write(t, "nul_bytes", b'{"Records":[{"Data":"e30=","SequenceNumber":"1"}]}\x00{"x":1}')
    write(t, "escaped_nul", b'{"Records":[{"Data":"e30\\u0000=","SequenceNumber":"1\\u0000"}]}')
    write(t, "empty", b"")


def streams_records_seeds():
    t = "streams_records_fuzz"

    def rec(i, name="INSERT", extra=b"", when=b"1716200000"):
        return (b'{"awsRegion":"us-east-1","dynamodb":{"ApproximateCreationDateTime":' + when +
                b',"Keys":{"pk":{"S":"customer#%d"}},"NewImage":{"pk":{"S":"customer#%d"},'
                b'"n":{"N":"12345678901234567890123456789012345678"},"m":{"M":{"l":{"L":[{"B":"AAE="},'
                b'{"NULL":true},{"SS":["a","b"]}]}}}},"SequenceNumber":"%d","SizeBytes":42,'
                b'"StreamViewType":"NEW_AND_OLD_IMAGES"},"eventID":"e-%d","eventName":"' % (i, i, 100 + i, i) +
                name.encode() + b'","eventSource":"aws:dynamodb","eventVersion":"1.1"' + extra + b'}')

    write(t, "page", b'{"NextShardIterator":"it","Records":[' + rec(1) + b",\n " + rec(2, "MODIFY") + b"]}")
    write(t, "ttl_delete", b'{"NextShardIterator":"it","Records":[' + rec(
        3, "REMOVE", b',"userIdentity":{"principalId":"dynamodb.amazonaws.com","type":"Service"}') + b"]}")
    write(t, "fractional_seconds", b'{"Records":[' + rec(4, when=b"1.7162000011E9") + b"]}")
    write(t, "closed_shard_end", b'{"Records":[]}')
    write(t, "not_a_change", b'{"NextShardIterator":"it","Records":[{"dynamodb":{"SequenceNumber":"7"},'
          b'"eventName":"UPSERT"},{"dynamodb":{"SequenceNumber":"8","Keys":{"pk":{"Q":"x"}}},'
          b'"eventName":"INSERT","eventID":"x"}]}')
    write(t, "no_sequence_number", b'{"Records":[{"dynamodb":{}}]}')
    write(t, "deep_1000", b'{"Records":[' + rec(5)[:-1] + b',"x":' + b"[" * 1000 + b"]" * 1000 + b"}]}")
    write(t, "invalid_utf8", b'{"Records":[{"dynamodb":{"SequenceNumber":"1\xc3("},"eventName":"\xff"}]}')
    write(t, "empty", b"")


def export_lines_seeds():
    t = "export_lines_fuzz"
    item = (b'{"Item":{"n":{"N":"12345678901234567890123456789012345678"},"sk":{"N":"7"},"tags":{"SS":["a","b"]},'
            b'"pk":{"S":"customer#1"},"m":{"M":{"pk":{"S":"not the key"},"l":{"L":[{"B":"AAE="},{"NULL":true}]}}}}}')
    write(t, "data_file", item + b"\n" + item.replace(b"customer#1", b"customer#2") + b"\n")
    write(t, "missing_sk", b'{"Item":{"pk":{"S":"a"}}}\n{"Item":{"pk":{"S":"a"},"sk":{"N":"x"}}}\n')
    write(t, "repeated_key", b'{"Item":{"pk":{"S":"a"},"sk":{"N":"1"},"pk":{"S":"b"}}}')
    write(t, "not_items", b'[1]\n{"Items":{}}\n{"Item":[1]}\n\n{"Item":{"pk":{"S":"a"},"sk":{"N":"1","S":"2"}}}')
    write(t, "manifest_files", b'{"itemCount":8,"md5Checksum":"sQMSpEILNgoQmarvDFonGQ==","etag":"af-1",'
          b'"dataFileS3Key":"AWSDynamoDB/01234567890123-a1b2c3d4/data/b.json.gz"}\n{"itemCount":"x"}\n')
    write(t, "manifest_summary", b'{"exportArn":"arn:aws:dynamodb:us-east-1:1:table/T/export/0169-ab",'
          b'"tableArn":"arn:aws:dynamodb:us-east-1:1:table/T","exportTime":"2024-05-20T01:00:00.5+02:00",'
          b'"outputFormat":"DYNAMODB_JSON","itemCount":3}')
    write(t, "invalid_utf8", b'{"Item":{"pk":{"S":"\xc3("},"sk":{"N":"1"}}}')
    write(t, "empty", b"")


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    decode_seeds()
    template_seeds()
    config_seeds()
    checkpoint_seeds()
    get_records_seeds()
    streams_records_seeds()
    export_lines_seeds()
    for target in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, target))
        size = sum(os.path.getsize(os.path.join(CORPUS, target, f)) for f in files)
        print("%-18s %3d seeds %9d bytes" % (target, len(files), size))


if __name__ == "__main__":
    main()
