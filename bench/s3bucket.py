#!/usr/bin/env python3
"""make bench's S3 bucket, on moto_server, in one interpreter (the AWS CLI
starts one a call, seconds each on a busy machine):

  s3bucket.py create URL BUCKET        a bucket with versioning Enabled and
                                       public access blocked
  s3bucket.py outfiles URL BUCKET PREFIX
                                       prints how many outfiles are under
                                       PREFIX (keys ending .age whose name
                                       does not start with a dot), and how
                                       many keys
"""
import sys

import boto3
from botocore.config import Config


def client(url):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}))


def create(url, bucket):
    s3 = client(url)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def outfiles(url, bucket, prefix):
    n = keys = 0
    for page in client(url).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            keys += 1
            name = o["Key"].rsplit("/", 1)[-1]
            if name.endswith(".age") and not name.startswith("."):
                n += 1
    print(n, keys)


if __name__ == "__main__":
    cmds = {"create": (create, 2), "outfiles": (outfiles, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        sys.exit(__doc__)
    cmds[sys.argv[1]][0](*sys.argv[2:])
