"""Errors a user can cause and fix: each becomes one line on the command line and exit code 2."""


class SpikefaError(Exception):
    """Bad input: a circuit file, a field, a data file or a command-line value.

    The message is one line that names the file or field and says what is allowed.
    """


class UserCodeError(Exception):
    """A user's code (a rule's hook) gave back something spikefa cannot use; the message names the rule,
    the hook and what it must return."""


class DivergenceError(RuntimeError):
    """A run produced NaN or inf, or its loss exploded; the metrics recorded before it are kept in the run folder."""


class CodeNotLoaded(SpikefaError):
    """A circuit read without importing code (a run folder's config, a listing) names a user's rule
    this process has not imported."""


class SpikefaWarning(UserWarning):
    """Something a user should know that did not stop the work: a damaged file read from its backup."""


class MissingExtra(SpikefaError):
    """An optional part of spikefa is not installed; the message names the pip extra that installs it."""

    def __init__(self, extra: str, what: str):
        super().__init__(f"{what} needs spikefa's optional {extra!r} part: pip install 'spikefa[{extra}]'")
