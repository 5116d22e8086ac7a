"""Training: read a config and labelled data, fine-tune a model, write a run directory."""

from stanceframe.training.config import RunConfig, load_config
from stanceframe.training.trainer import TrainResult, train

__all__ = ["RunConfig", "TrainResult", "load_config", "train"]
