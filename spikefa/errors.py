"""Errors a user can cause and fix: each becomes one line on the command line and exit code 2."""


class SpikefaError(Exception):
    """Bad input: a circuit file, a field, a data file or a command-line value.

    The message is one line that names the file or field and says what is allowed.
    """


class DivergenceError(RuntimeError):
    """A run produced NaN or inf; the metrics recorded before it are kept in the run folder."""
