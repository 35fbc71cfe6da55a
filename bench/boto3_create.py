#!/usr/bin/env python3
"""Create N virtual MFA devices with boto3, the way a competent user would:
one IAM client shared by a 16-thread pool, botocore's retries in the mode
given (standard or adaptive), each seed written to its own 0600 file.

    boto3_create.py --endpoint-url URL --retry-mode standard|adaptive -n 300 --out DIR

Prints one JSON line: {"ok": N, "failed": N, "errors": {code: count}}.
"""
import argparse
import concurrent.futures
import json
import os
import sys
from collections import Counter

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--retry-mode", choices=["standard", "adaptive"], default="standard")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", default="boto3-")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    config = Config(
        retries={"mode": args.retry_mode, "max_attempts": 10},
        max_pool_connections=args.threads,
    )
    iam = boto3.client("iam", endpoint_url=args.endpoint_url, region_name="us-east-1", config=config)

    def create(i):
        name = f"{args.prefix}{i:05d}"
        resp = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)
        seed = resp["VirtualMFADevice"]["Base32StringSeed"]
        fd = os.open(os.path.join(args.out, name + ".txt"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(seed)

    ok, errors = 0, Counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.threads) as pool:
        futures = [pool.submit(create, i) for i in range(args.n)]
        for fut in concurrent.futures.as_completed(futures):
            try:
                fut.result()
                ok += 1
            except ClientError as e:
                errors[e.response.get("Error", {}).get("Code", "ClientError")] += 1
            except Exception as e:  # noqa: BLE001: counted, as a user's script would
                errors[type(e).__name__] += 1
    print(json.dumps({"ok": ok, "failed": sum(errors.values()), "errors": dict(errors)}))
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
