"""Vector arithmetic on G's noise (Radford et al. 2015, Figure 7): pick samples of three concepts, average
their z per concept, and decode mean(a) - mean(b) + mean(c).

    python examples/vector_arithmetic.py RUN_DIR --pick picks.png            # numbered samples to choose from
    python examples/vector_arithmetic.py RUN_DIR --a 3,17,40 --b 5,21 --c 8,30 --out arithmetic.png

The second call draws the same noise (same --seed and --n) as the first; in the picture, rows 1-3 are
the chosen samples of a, b and c, each followed by G of their mean z, and row 4 is G(y) for
y = mean(a) - mean(b) + mean(c), then G(y + u) for u uniform on [-0.25, 0.25] (the paper's).
"""
import argparse

from minigan.gan import Run, latent, vector_arithmetic


def indices(text):
    return [int(i) for i in text.split(",")]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--seed", type=int, default=0, help="the noise the samples are drawn from")
    p.add_argument("--n", type=int, default=64, help="samples to pick from (index = row * 8 + column)")
    p.add_argument("--pick", metavar="FILE.png", help="save the samples to pick from, 8 to a row, and stop")
    for concept in ("a", "b", "c"):
        p.add_argument(f"--{concept}", type=indices, metavar="I,J,...", help=f"the samples of concept {concept}")
    p.add_argument("--out", default="arithmetic.png")
    args = p.parse_args()
    run = Run(args.run)
    z = latent.noise(run, args.n, args.seed)
    if args.pick:
        samples = latent.generate(run, z)
        latent.save_rows([samples[i:i + 8] for i in range(0, len(samples), 8)], args.pick)
        return
    if not (args.a and args.b and args.c):
        p.error("give --a, --b and --c (indices into the --pick picture), or --pick FILE.png")
    latent.save_rows(vector_arithmetic(run, z, args.a, args.b, args.c), args.out)
    print(f"a - b + c -> {args.out}")


if __name__ == "__main__":
    main()
