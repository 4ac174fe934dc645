"""The code one backward pass runs through: minigan.viz.call_trail of loss_g.backward() in the generator's
update of a DCGAN-32 step (batch 64, ngf = ndf = 64, 1 channel), on the reference path and on the fast paths.

    PYTHONPATH=. python benchmarks/call_trail.py [--transposed]

Prints, for each path, the files of minigan/ it passes through and their functions in the order first
called; --transposed prints the trail of one transposed convolution's backward alone instead.
"""
import argparse

import numpy as np

import minigan
import minigan.nn.functional as F
from minigan.gan import dcgan


def generator_backward(reference):
    G = dcgan.dcgan_generator(100, 64, 1, 32, minigan.Generator(0))
    D = dcgan.dcgan_discriminator(1, 64, 32, minigan.Generator(1))
    with minigan.reference_mode(reference):
        loss_g = F.binary_cross_entropy_with_logits(D(G(minigan.randn(64, 100))), minigan.ones(64, 1))
        return minigan.viz.call_trail(loss_g.backward)


def transposed_backward(reference):
    x, w = minigan.randn(64, 128, 8, 8, requires_grad=True), minigan.randn(128, 64, 4, 4, requires_grad=True)
    with minigan.reference_mode(reference):
        out = F.conv_transpose2d(x, w, stride=2, padding=1)
        return minigan.viz.call_trail(out.grad_fn.backward, np.ones(out.shape, np.float32))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transposed", action="store_true", help="one transposed convolution's backward alone")
    trail_of = transposed_backward if parser.parse_args().transposed else generator_backward
    for reference in (True, False):
        trail = trail_of(reference)
        print(f"{'reference' if reference else 'fast paths'}: {len(trail)} files, "
              f"{sum(map(len, trail.values()))} functions")
        for path, names in trail.items():
            print(f"  {path} ({len(names)}): {', '.join(names)}")


if __name__ == "__main__":
    main()
