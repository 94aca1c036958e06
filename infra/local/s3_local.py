"""The local S3-compatible server behind `lapor serve`: s3rver (npm, pinned by the Makefile), persistent under
`.lapor/s3/`, bound to 127.0.0.1, started and stopped with the rest of the system.

It holds the photo bucket (`lapor-local-photos`) with a CORS rule for the web origin, so the pages' upload forms
(presigned POSTs with `success_action_redirect`) and the Lapor form's script work against it as against S3.

What s3rver does not do, and S3 does (said here so nobody relies on it locally):
- it does not check a POST's policy (the content-length range, the exact key, the expiry) nor SigV4 signatures
  (any well-formed signature of its one account is accepted). The app never trusts an upload for either: it
  checks the size and the real format of every photo again when it is attached (chalicelib/photos/processing).
- it has no lifecycle rules: `lapor serve` deletes uploads under `incoming/` older than a day when it starts.
It runs as DynamoDB Local does, as a child server (infra/local/child.py).
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Sequence

from infra.local.child import ChildServer
from infra.local.dynamodb_local import ROOT

DEFAULT_INSTALL = ROOT / ".venv" / "s3-local"
BUCKET = "lapor-local-photos"
REGION = "ap-southeast-3"
INCOMING_DAYS = 1  # what the bucket's lifecycle rule does in AWS


class S3LocalMissing(RuntimeError):
    """Not installed, or no Node.js: the message says what to run."""


@dataclass(frozen=True)
class Installation:
    node: str
    script: Path  # s3rver's command-line entry


def find_installation(install_dir: str | os.PathLike[str] | None = None) -> Installation:
    base = Path(install_dir) if install_dir else DEFAULT_INSTALL
    script = base / "node_modules" / "s3rver" / "bin" / "s3rver.js"
    if not script.exists():
        raise S3LocalMissing(f"s3rver is not installed in {base}; `make setup` installs it (npm install s3rver@3.7.1)")
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        raise S3LocalMissing("the local photo store (s3rver) needs Node.js: apt-get install nodejs")
    return Installation(node=node, script=script)


def cors_configuration(origins: Sequence[str]) -> str:
    """What the bucket needs for the web origin: browsers POST uploads to it (the Lapor form's script reads
    the answer, so the answer needs CORS headers) and load photos from it."""
    allowed = "".join(f"<AllowedOrigin>{origin}</AllowedOrigin>" for origin in origins)
    return ("<CORSConfiguration><CORSRule>" + allowed + "<AllowedMethod>POST</AllowedMethod>"
            "<AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>"
            "<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule></CORSConfiguration>\n")


def client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    from chalicelib.photos.storage import LOCAL_CREDENTIALS

    return boto3.client("s3", endpoint_url=url, region_name=REGION, **LOCAL_CREDENTIALS,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 0}, connect_timeout=1, read_timeout=10))


class S3Local(ChildServer):
    def __init__(self, installation: Installation, *, data_dir: Path, port: int | None = None,
                 log_path: Path | None = None) -> None:
        super().__init__(port=port, log_path=log_path)
        self.installation, self.data_dir = installation, data_dir

    def start(self, origins: Sequence[str], timeout: float = 30.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cors = self.data_dir.parent / "s3-cors.xml"
        cors.write_text(cors_configuration(origins))
        command = [self.installation.node, str(self.installation.script), "-d", str(self.data_dir),
                   "-a", "127.0.0.1", "-p", str(self.port), "--no-vhost-buckets", "-s",
                   "--configure-bucket", BUCKET, str(cors)]
        self._spawn(command, cwd=self.data_dir)
        self._wait_until_ready(timeout)

    def _wait_until_ready(self, timeout: float) -> None:
        s3 = client(self.url)
        self._wait_until(lambda: s3.head_bucket(Bucket=BUCKET), "s3rver", timeout)

    def expire_incoming(self, now: datetime | None = None) -> int:
        """Play the bucket's lifecycle rule: uploads under incoming/ older than a day go (never processed copies)."""
        s3, cutoff = client(self.url), (now or datetime.now(timezone.utc)) - timedelta(days=INCOMING_DAYS)
        removed = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="incoming/"):
            for item in page.get("Contents", []):
                if item["LastModified"] < cutoff:
                    s3.delete_object(Bucket=BUCKET, Key=item["Key"])
                    removed += 1
        return removed


def check(install_dir: str | None = None) -> int:
    """`make setup`'s proof that the local photo store runs here: start it in a scratch folder, stop it."""
    import sys
    import tempfile

    try:
        installation = find_installation(install_dir)
    except S3LocalMissing as missing:
        print(f"make: {missing}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as scratch:
        server = S3Local(installation, data_dir=Path(scratch) / "s3")
        server.start(["http://127.0.0.1"])
        server.stop()
    print(f"s3rver runs with {installation.node}; it listens on 127.0.0.1 only")
    return 0


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--check"]:
        sys.exit(check(os.environ.get("LAPOR_S3_LOCAL")))
    sys.exit("usage: python -m infra.local.s3_local --check")
