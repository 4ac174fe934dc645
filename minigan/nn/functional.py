"""minigan.nn.functional: the layers as differentiable functions, named and laid out as torch.nn.functional.

    import minigan.nn.functional as F
    y = F.leaky_relu(F.conv2d(x, w, stride=2, padding=1), 0.2)

Each family lives in its own file (conv, pooling, normalization, linear, losses); the
activations are minigan.ops'.
"""
from ..ops.activation import leaky_relu, log_softmax, relu, sigmoid, softmax, softplus, tanh
from .conv import conv2d, conv2d_weight, conv_transpose2d
from .linear import dropout, linear, maxout
from .losses import binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, mse_loss
from .normalization import batch_norm
from .pooling import avg_pool2d, max_pool2d

__all__ = ["linear", "conv2d", "conv_transpose2d", "conv2d_weight", "batch_norm", "dropout", "maxout", "max_pool2d",
           "avg_pool2d", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "softmax", "log_softmax",
           "binary_cross_entropy_with_logits", "binary_cross_entropy", "mse_loss", "cross_entropy"]
