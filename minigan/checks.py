"""Argument checks at the public API: each error names the function or class, the argument and what it got.

A wrong type raises TypeError, a value out of range ValueError. A bool is not taken for a number.
"""
import numbers

import numpy as np


def integer(where, name, value, minimum=None):
    """``value`` as an int (a Python or NumPy integer, at least ``minimum``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: {name} must be an int, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{where}: {name} must be at least {minimum}, got {value}")
    return int(value)


def integers(where, name, values, minimum=None):
    """``values`` (a tuple or list) as a tuple of ints, each at least ``minimum``."""
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{where}: {name} must be a tuple of ints, got {values!r}")
    if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) for v in values):
        raise TypeError(f"{where}: {name} must be ints, got {tuple(values)!r}")
    if minimum is not None and any(v < minimum for v in values):
        raise ValueError(f"{where}: {name} must be ints >= {minimum}, got {tuple(values)!r}")
    return tuple(int(v) for v in values)


def axis(where, value):
    """``value``, if it is None, an int or a tuple (or list) of ints: the axis argument of reductions and the like."""
    ints = value if isinstance(value, (tuple, list)) else (value,)
    if value is not None and any(isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer))
                                 for a in ints):
        raise TypeError(f"{where}: axis must be an int, a tuple of ints or None, got {value!r}")
    return value


def number(where, name, value, ok=None, expected=""):
    """``value``, a real number for which ``ok(value)`` holds (``expected`` says what that means)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number{' ' + expected if expected else ''}, got {value!r}")
    if ok is not None and not ok(value):
        raise ValueError(f"{where}: {name} must be {expected}, got {value!r}")
    return value


def boolean(where, name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}: {name} must be True or False, got {value!r}")
    return bool(value)
