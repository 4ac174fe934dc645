"""Datasets: the 2D toy mixtures, MNIST / Fashion-MNIST (IDX), image folders, and the DataLoader."""
from . import download, toy2d
from .folder import interpolation_matrix, load_folder, pad_images, resize_bilinear
from .idx import IDXError, load_mnist, read_idx, write_idx
from .loader import DataLoader, infinite
from .toy2d import ToyMixture

__all__ = ["DataLoader", "IDXError", "ToyMixture", "download", "infinite", "interpolation_matrix", "load_folder",
           "load_mnist", "pad_images", "read_idx", "resize_bilinear", "toy2d", "write_idx"]
