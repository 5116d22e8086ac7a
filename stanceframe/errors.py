"""User-facing error types: one class per kind of mistake a user can make.

Each message names the file, line and field where that is known, so the CLI can print it as is.
"""


class StanceframeError(Exception):
    """Base class for errors caused by user input rather than by a bug."""


class ConfigError(StanceframeError):
    """A config file or override is invalid."""


class DataError(StanceframeError):
    """An input data file is missing, unreadable or holds an invalid row."""


class RunDirError(StanceframeError):
    """A run directory is missing, incomplete, or would be overwritten."""


class OutputExistsError(StanceframeError):
    """An output file exists and --overwrite was not given."""


def problem_field(problem: dict) -> str:
    """The dotted key of one of pydantic's `ValidationError.errors()`, for a message a user acts on."""
    return ".".join(str(part) for part in problem["loc"]) or "(top level)"
