"""Errors the user can act on: each carries a message that names the file, column, line and fix."""
from __future__ import annotations


class KpiError(Exception):
    """Base class for every error the app and the CLI show to a person instead of a traceback."""


class InputError(KpiError):
    """Bad input: a file, a mapping, an option or a value that cannot be used as given.

    ``str(err)`` is the whole sentence the user reads, for example
    "payments.csv, line 1,204, column amount: 'n/a' is not a number — fix the value or map
    amount to another column".
    """

    def __init__(self, message: str, *, file: str | None = None, column: str | None = None,
                 line: int | None = None, value: str | None = None, hint: str | None = None):
        self.file, self.column, self.line, self.value, self.hint = file, column, line, value, hint
        super().__init__(message)

    @classmethod
    def at(cls, *, file: str | None, problem: str, column: str | None = None,
           line: int | None = None, value: str | None = None, hint: str | None = None) -> "InputError":
        """Build the standard sentence: 'file, line N, column c: problem — hint'."""
        where = [p for p in (file, f"line {line:,}" if line else None,
                             f"column {column}" if column else None) if p]
        text = (", ".join(where) + ": " if where else "") + problem
        if hint:
            text += f" — {hint}"
        return cls(text, file=file, column=column, line=line, value=value, hint=hint)


class PermissionDenied(KpiError):
    """A write was attempted through a read-only (viewer or sample) workspace."""


class WorkspaceGone(KpiError):
    """The workspace was deleted (by its owner, maybe in another session) and cannot be used."""


class UnknownKpi(InputError):
    """A KPI id that is neither in the catalog nor a custom KPI of the workspace."""


class StaleWrite(KpiError):
    """A save made from something another session changed since it was read: refused, never merged blindly.

    The user's change is not lost silently: they are told to reload, see the other change, and
    make theirs again.
    """

    def __init__(self, what: str = "This"):
        super().__init__(f"{what} changed since you opened it — reload the page to see the latest version, "
                         "then make your change again.")


class Busy(KpiError):
    """The workspace kept refusing a save because others were saving at the same moment."""

    def __init__(self, action: str = "save your change"):
        super().__init__(f"Others are saving to this workspace right now, so we could not {action} — "
                         "nothing was changed: wait a moment and try again.")
