"""Errors raised by services and importers; one handler per edge (CLI, API) maps them."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error the application reports to a person rather than crashing on."""

    status_code: int = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    def __str__(self) -> str:
        return self.message


class NotFoundError(AppError):
    """A named thing (run, model, benchmark, problem, sample) does not exist."""

    status_code = 404

    def __init__(self, what: str, ident: object) -> None:
        super().__init__(f"{what} {ident!r} not found")
        self.what = what
        self.ident = ident


class InvalidInputError(AppError):
    """An argument or option has a value the operation cannot use; `field` names it."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


class ConflictError(AppError):
    """The operation contradicts what is already in the store."""

    status_code = 409


class ImportFormatError(AppError):
    """A line of an import file cannot be read; the message names the file and the line."""

    status_code = 422

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.reason = message


class DatabaseNotReadyError(AppError):
    """The database schema is missing or older than this version of the code."""

    status_code = 503
