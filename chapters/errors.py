"""The ways a run stops without a traceback; a leaf module, so that the plumbing imports it without a circle.

chapters.cli turns each into one line and an exit code.
"""


class UsageError(Exception):
    """A bad option or input: shown as one line, without a traceback (exit code 2)."""


class RunFailed(Exception):
    """A run that cannot go on (e.g. the loss became NaN): one line, exit code 1."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM, after what was done so far was saved."""
