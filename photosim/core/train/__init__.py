"""Fine-tuning on user labels and self-supervised adaptation.

Pure numpy/torch: the trained model is an adapter on stored base vectors, so
training and applying it never touch images, the database or the GUI.
"""
from .adapter import Adapter, AdapterConfig
from .trainer import TrainOptions, TrainResult, train

__all__ = ["Adapter", "AdapterConfig", "TrainOptions", "TrainResult", "train"]
