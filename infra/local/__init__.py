"""The local runtime: what AWS does around the Lambda functions, done on this machine."""
