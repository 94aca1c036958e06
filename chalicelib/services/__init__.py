"""Application services: what sits between the HTTP layer (or a schedule) and the pure domain — the command
handler, the deadline sweep, the notification sender, the audit timeline, and the operators' log operations."""
