"""recurring: completes and sends the invoices recurrings left as drafts (architecture.md §4)."""
