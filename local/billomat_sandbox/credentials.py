"""Documented fake credentials of the sandbox: not secrets, and useless against Billomat."""

DEV_API_KEY = "sandbox-dev-api-key"
"""API key the sandbox accepts by default (header ``X-BillomatApiKey`` or query ``api_key``)."""

DEV_APP_ID = "sandbox-dev-app-id"
"""Registered-app id; together with :data:`DEV_APP_SECRET` it selects the larger app quota."""

DEV_APP_SECRET = "sandbox-dev-app-secret"
"""Registered-app secret matching :data:`DEV_APP_ID`."""
