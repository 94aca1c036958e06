"""Photo attachments of reports (issue 10): upload straight to S3, re-encode without metadata, read by the
report's own privacy rules.

- `processing`: the bytes — real format by content, pixel limits, EXIF orientation, re-encoding that keeps only
  pixels (no EXIF, XMP or ICC: no location, no camera), a thumbnail. Pure, no I/O.
- `storage`: the private bucket — presigned POST forms for `incoming/<upload id>`, reading an upload, writing the
  processed copies under `photos/`, short-lived presigned GET URLs. Nothing in the bucket is public.
- `tickets`: the signed, short-lived landing ticket that lets S3's redirect after an upload (another site, so
  without the reporter's SameSite cookie) attach that one upload to that one report.
- `attach`: from upload ids to the facts a command carries (`PhotoFacts`), exactly once per upload id.

The domain's limits (how many, which types, how large) are the aggregate's: chalicelib/domain/report.py.
"""
