"""The one error type of the operator API: an HTTP status and a JSON body."""

from __future__ import annotations

from typing import Any


class AdminError(Exception):
    """Answered as ``status`` (HTTP) with ``{"error": code, "message": message, **details}``."""

    def __init__(self, status: int, code: str, message: str, /, **details: Any) -> None:
        super().__init__(message)
        self.http_status = status
        self.code = code
        self.message = message
        self.details = details

    def payload(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}
