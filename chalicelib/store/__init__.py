"""Persistence: the event store (DynamoDB and its in-memory twin), idempotency and personal-data records."""
