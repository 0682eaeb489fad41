"""The internet-facing webhook intake: verify, validate, enqueue."""
