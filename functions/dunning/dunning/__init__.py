"""dunning: the daily reminder run for overdue invoices (architecture.md §4, issue 5)."""
