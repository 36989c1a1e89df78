"""The exceptions inference raises: one base class, and one subclass per kind of failure a caller handles."""
from __future__ import annotations


class InferenceError(Exception):
    """Base of every error raised on purpose by the inference package."""


class IngestError(InferenceError):
    """A photo could not be accepted as input; `reason` is a stable machine code, the message a human sentence."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    def __reduce__(self):  # keep both fields when the error crosses a process boundary (Ray, multiprocessing)
        return (type(self), (self.reason, self.message))


class InputError(InferenceError):
    """A GenerationInput (or one of its parts) is malformed; the message names the field."""


class BackgroundError(InferenceError):
    """The brand background cannot be rendered (e.g. the background plate is missing or unreadable)."""


class NoUsableSelfiesError(InferenceError):
    """None of the selfies of a run passed inspection, so no headshot can be made."""
