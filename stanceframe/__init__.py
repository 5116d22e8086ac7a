"""stanceframe: label news sentences by framing (accusation, denial, diplomatic proposal) and stance."""

from stanceframe.errors import ConfigError, DataError, RunDirError, StanceframeError
from stanceframe.model.classifier import Classifier, Prediction
from stanceframe.model.document import DocumentResult, analyze_texts
from stanceframe.model.sentences import split_sentences

__version__ = "0.1.0"


def __getattr__(name: str):
    # stanceframe.profile pulls in pandas, QuaPy and matplotlib: loaded on first use
    if name == "profile":
        from stanceframe.eval.profile import profile

        return profile
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Classifier",
    "ConfigError",
    "DataError",
    "DocumentResult",
    "Prediction",
    "RunDirError",
    "StanceframeError",
    "__version__",
    "analyze_texts",
    "profile",
    "split_sentences",
]
