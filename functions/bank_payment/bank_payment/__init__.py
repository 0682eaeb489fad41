"""bank_payment worker: bank transfers become Billomat invoice payments (rules 1–5)."""
