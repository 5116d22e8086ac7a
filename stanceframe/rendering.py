"""The one Jinja setup of every HTML and Markdown page stanceframe writes (reports, article views)."""

from __future__ import annotations

from jinja2 import BaseLoader, Environment, StrictUndefined


def jinja_environment(loader: BaseLoader, *, autoescape: bool = True) -> Environment:
    """Strict (an undefined name is an error) and whitespace-tidy; callers add their filters."""
    return Environment(
        loader=loader,
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
