"""minigan: a small reverse-mode autograd engine on NumPy and CuPy, and the GANs built on it."""
from . import backend, ops  # noqa: F401 (public submodules)
from .backend import reference_mode  # noqa: F401
from .creation import (arange, full, full_like, ones, ones_like, rand, rand_like, randn, randn_like, tensor,
                       zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import *  # noqa: F401,F403  (the ops as functions: minigan.exp(x), minigan.where(...))
from .random import Generator, default_generator, manual_seed
from . import viz
from . import nn, optim
from . import data, metrics
from .serialize import CheckpointError, load, save
from .tensor import Function, Tensor, enable_grad, grad, is_grad_enabled, no_grad

__version__ = "0.1.0"

