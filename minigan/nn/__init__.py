"""minigan.nn: Module, Parameter and the layers, with torch.nn's names, layouts and defaults.

    import minigan.nn as nn
    net = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))

``minigan.nn.functional`` has the same layers as functions; ``minigan.nn.init`` the initialisers.
"""
from . import functional, init
from .layers import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dropout, Flatten, LeakyReLU, Linear,
                     Maxout, ReLU, Sequential, Sigmoid, Tanh, Unflatten)
from .modules import Module, Parameter

__all__ = ["Module", "Parameter", "Sequential", "Linear", "Maxout", "Conv2d", "ConvTranspose2d", "BatchNorm1d",
           "BatchNorm2d", "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "Dropout", "Flatten", "Unflatten",
           "functional", "init"]
