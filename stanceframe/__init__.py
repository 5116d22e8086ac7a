"""stanceframe: label news sentences by framing (accusation, denial, diplomatic proposal) and stance."""

from stanceframe.errors import ConfigError, DataError, RunDirError, StanceframeError
from stanceframe.model.classifier import Classifier, Prediction

__version__ = "0.1.0"

__all__ = [
    "Classifier",
    "ConfigError",
    "DataError",
    "Prediction",
    "RunDirError",
    "StanceframeError",
    "__version__",
]
