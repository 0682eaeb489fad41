"""reporting: the monthly report for accounting (architecture.md §4, issue 5).

On the 1st of each month (08:00 Europe/Berlin) the previous month's invoices, payments,
receivables, reminders and review list are read from Billomat and the workflow table,
saved to S3 as JSON, CSV and an HTML page with charts, and accounting is told once.
"""
