"""Operator tools run from a checkout (never deployed): the `autopilot` CLI."""
