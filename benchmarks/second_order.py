"""The cost of create_graph=True: a discriminator update with an R1 gradient penalty against the same update without it.

    python benchmarks/second_order.py [--threads N] [--repeats R] [--rounds K]

R1 (Mescheder et al. 2018) adds gamma/2 E|grad_x D(x)|^2 on real images to D's loss: the gradient of D's output with
respect to its input is taken with create_graph=True, so that the penalty on it can be differentiated again. One
update is D's forward on real and fake batches, the losses, backward and an Adam step; with R1, D's forward on the
real batch is followed by minigan.grad(..., create_graph=True) and the penalty joins the loss. The discriminators:
the ring's (the default `minigan train`: maxout 32-32, pieces 5, PacGAN pairs of 2-D points, batch 512), the 2014
paper's MNIST one (maxout 240-240, pieces 5, batch 100, dropout off) and the DCGAN-32's (batch 64). Time: the median
over the rounds of each round's median of R repeats, both variants in every round (first in turn). Memory: the peak
of NumPy's allocations during one update above what was allocated before it (tracemalloc). A network whose backward
cannot yet be differentiated says so (the error names the op).
"""
import argparse
import os
import statistics
import sys
import tracemalloc


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=5, help="timed updates per round (their median)")
    parser.add_argument("--rounds", type=int, default=5)
    return parser.parse_args()


def discriminators():
    """(name, D, real batch): each D in minigan.nn, with the batch of real data it sees."""
    import numpy as np
    from cases import build_dcgan32

    import minigan
    from minigan.gan.mlp import maxout_discriminator

    rng = np.random.default_rng(0)
    minigan.manual_seed(0)
    return [("ring MLP GAN (batch 512)", maxout_discriminator(4, [32, 32], 5, 0.0, 0.0),
             rng.standard_normal((512, 4), dtype=np.float32)),
            ("MNIST MLP GAN (batch 100)", maxout_discriminator(784, [240, 240], 5, 0.0, 0.0),
             rng.random((100, 784), dtype=np.float32)),
            ("DCGAN-32 (batch 64)", build_dcgan32(minigan.nn)[1],
             np.tanh(rng.standard_normal((64, 1, 32, 32), dtype=np.float32)))]


def update(D, real, r1):
    """One D update on ``real`` and a fake batch (noise), with the R1 penalty (gamma 10) or without."""
    import minigan
    import minigan.nn.functional as F

    opt = minigan.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = minigan.tensor(real, requires_grad=r1)
    fake = minigan.tensor(real.numpy()[::-1].copy())
    ones, zeros = minigan.ones(len(real), 1), minigan.zeros(len(real), 1)

    def step():
        opt.zero_grad()
        out_real = D(real).reshape(len(real), 1)
        loss = F.binary_cross_entropy_with_logits(out_real, ones) + \
            F.binary_cross_entropy_with_logits(D(fake).reshape(len(real), 1), zeros)
        if r1:
            (g,) = minigan.grad(out_real.sum(), real, create_graph=True)
            loss = loss + 5.0 * (g * g).sum() / len(real)
        loss.backward()
        opt.step()
    return step


def peak_bytes(step):
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - before


def main():
    args = parse_args()
    sys.path.insert(0, os.path.dirname(__file__))
    from timing import load_average, median_time, use_threads
    use_threads(args.threads)
    load_before = load_average()
    print("| discriminator | update (ms) | with R1 (ms) | ratio | peak memory (MiB) | with R1 (MiB) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, D, real in discriminators():
        steps = {r1: update(D, real, r1) for r1 in (False, True)}
        try:
            steps[True]()
        except RuntimeError as e:
            print(f"| {name} | not twice differentiable: {str(e).split(':')[0]} |")
            continue
        times = {False: [], True: []}
        for k in range(args.rounds):
            for r1 in ((True, False) if k % 2 else (False, True)):
                times[r1].append(median_time(steps[r1], args.repeats))
        t = {r1: statistics.median(times[r1]) * 1e3 for r1 in times}
        m = {r1: peak_bytes(steps[r1]) / 2 ** 20 for r1 in times}
        print(f"| {name} | {t[False]:.1f} | {t[True]:.1f} | {t[True] / t[False]:.2f} | {m[False]:.1f} | "
              f"{m[True]:.1f} | {m[True] / m[False]:.2f} |", flush=True)
    print(f"\nthreads={args.threads} rounds={args.rounds} of repeats={args.repeats}, load average {load_before:.1f} "
          f"before, {load_average():.1f} after")


if __name__ == "__main__":
    main()
