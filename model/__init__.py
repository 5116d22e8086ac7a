"""Inference: load a run directory and label sentences."""

from stanceframe.model.classifier import Classifier, Prediction

__all__ = ["Classifier", "Prediction"]
