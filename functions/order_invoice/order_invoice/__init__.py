"""order_invoice worker: a paid shop order becomes one Billomat invoice (architecture.md §4)."""
