"""Vector arithmetic on G's noise (Radford et al. 2015, Figure 7): pick samples of three concepts, average
their z per concept, and decode mean(a) - mean(b) + mean(c).

    python examples/vector_arithmetic.py RUN_DIR --pick                       # RUN_DIR/picks.png to choose from
    python examples/vector_arithmetic.py RUN_DIR --a 3,17,40 --b 5,21 --c 8,30   # RUN_DIR/arithmetic.png

The second call draws the same noise (same --seed and --n) as the first; in the picture, rows 1-3 are
the chosen samples of a, b and c, each followed by G of their mean z, and row 4 is G(y) for
y = mean(a) - mean(b) + mean(c), then G(y + u) for u uniform on [-0.25, 0.25] (the paper's).
For runs on images. --out DIR puts the pictures elsewhere.
"""
import argparse
import os
import sys

from minigan.cli import positive_int, run_program
from minigan.gan import Run, latent, vector_arithmetic


def indices(text):
    try:
        return [int(i) for i in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected indices like 3,17,40, got {text!r}") from None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--seed", type=int, default=0, help="the noise the samples are drawn from")
    p.add_argument("--n", type=positive_int, default=64, help="samples to pick from (index = row * 8 + column)")
    p.add_argument("--pick", action="store_true", help="save the samples to pick from, 8 to a row, and stop")
    for concept in ("a", "b", "c"):
        p.add_argument(f"--{concept}", type=indices, metavar="I,J,...", help=f"the samples of concept {concept}")
    p.add_argument("--out", metavar="DIR", help="where picks.png or arithmetic.png go (default RUN_DIR)")
    args = p.parse_args(argv)
    if not (args.pick or (args.a and args.b and args.c)):
        p.error("give --a, --b and --c (indices into the --pick picture), or --pick")
    args.out = args.out or args.run
    return args


def main(args):
    run = Run(args.run)
    z = latent.noise(run, args.n, args.seed)
    os.makedirs(args.out, exist_ok=True)
    if args.pick:
        samples, out = latent.generate(run, z), os.path.join(args.out, "picks.png")
        latent.save_rows([samples[i:i + 8] for i in range(0, len(samples), 8)], out)
    else:
        out = os.path.join(args.out, "arithmetic.png")
        latent.save_rows(vector_arithmetic(run, z, args.a, args.b, args.c), out)
    print(f"-> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_program(main, parse_args()))
