"""The one error type the sandbox raises for answers Billomat gives as ``{"errors": ...}``."""

from __future__ import annotations


class ApiError(Exception):
    """A Billomat-style error answer: HTTP status plus one or more plain messages."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(f"{status}: {'; '.join(messages)}")
        self.status = status
        self.messages: tuple[str, ...] = messages or ("Error",)

    def body(self) -> dict[str, dict[str, str | list[str]]]:
        """Billomat's JSON error envelope; several messages become a list."""
        error: str | list[str] = (
            self.messages[0] if len(self.messages) == 1 else list(self.messages)
        )
        return {"errors": {"error": error}}


def bad_request(*messages: str) -> ApiError:
    """400: validation failure or an action that the record's state does not allow."""
    return ApiError(400, *messages)


def not_found(what: str) -> ApiError:
    """404: unknown id or path."""
    return ApiError(404, f"{what} not found")
