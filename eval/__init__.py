"""Evaluation: score predictions against gold labels and write reports."""

from stanceframe.eval.metrics import classification_metrics, multilabel_metrics

__all__ = ["classification_metrics", "multilabel_metrics"]
