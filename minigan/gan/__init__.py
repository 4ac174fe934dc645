"""GANs on minigan: model families (networks and recipes), the datasets they train on, and one trainer.

    from minigan.gan import TrainConfig, Trainer, Run
    config = TrainConfig.for_model("mlp-gan", "ring", seed=1)
    Trainer(config, "runs/ring-1").fit()
    print(Run("runs/ring-1").evaluate())

A new family registers itself (``minigan.gan.family.register``) and is then trainable as
``minigan train <name>``; see family.py.
"""
from . import dcgan, latent, mlp
from .datasets import DATASETS, get_dataset
from .family import FAMILIES, Family, get_family, register
from .latent import interpolate, vector_arithmetic
from .run import Run, RunError
from .trainer import EMA, Interrupted, TrainConfig, Trainer, TrainingDiverged

__all__ = ["DATASETS", "EMA", "FAMILIES", "Family", "Interrupted", "Run", "RunError", "TrainConfig", "Trainer",
           "TrainingDiverged", "dcgan", "get_dataset", "get_family", "interpolate", "latent", "mlp", "register",
           "vector_arithmetic"]
