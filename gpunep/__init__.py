"""gpunep: evaluate and edit NEP models on NVIDIA GPUs (and CPUs), from Python.

This module only re-exports the public API; the README's Layout table says
where each part lives.
"""

from gpunep.calculator import NEPCalculator
from gpunep.committee import predict_committee
from gpunep.committee_spread import CommitteeResult
from gpunep.committee_calculator import CommitteeCalculator
from gpunep.evaluation import evaluate
from gpunep.model import Model, random_model, read_model, read_nepfile, write_nepfile
from gpunep.prediction import predict
from gpunep.prediction_result import PredictionResult
from gpunep.structures import Batch, BatchResult, pack

__version__ = "0.1.0"

__all__ = [
    "Batch", "BatchResult", "CommitteeCalculator", "CommitteeResult", "Model", "NEPCalculator",
    "PredictionResult", "evaluate", "pack", "predict", "predict_committee",
    "random_model", "read_model", "read_nepfile", "write_nepfile", "__version__",
]
