"""Operator API Lambda (``/admin/...``): review list, dead letters, status."""
