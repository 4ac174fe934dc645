"""Progress bars for long work, such as ``minigan evaluate``'s: tqdm on stderr, shown only inside ``shown()``.

    with minigan.progress.shown():
        Run("runs/dcgan").evaluate()          # a bar for sampling, Parzen, the classifier, the probes
"""
import contextlib

from tqdm import tqdm

_shown = [False]
DELAY = 0.5  # seconds before a bar appears: quick work shows none


def bar(iterable, desc, total=None, unit="batch"):
    """``iterable``, with a bar named ``desc`` on stderr while bars are shown (one that ends within DELAY
    seconds never appears); the bare iterable otherwise."""
    if not _shown[0]:
        return iterable
    return tqdm(iterable, desc=desc, total=total, unit=unit, delay=DELAY, dynamic_ncols=True)


@contextlib.contextmanager
def shown(on=True):
    """Inside ``with shown():``, ``bar`` draws its bars (``shown(False)``: it does not)."""
    before, _shown[0] = _shown[0], on
    try:
        yield
    finally:
        _shown[0] = before
