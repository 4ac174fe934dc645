"""The ``minigan`` command: train a GAN, draw samples from a run, evaluate a run.

    minigan train                                   # the MLP GAN on the 8-Gaussian ring, on the CPU
    minigan train mlp-gan --dataset fashion-mnist --epochs 50
    minigan train --resume --out runs/ring-20260101-120000
    minigan sample runs/ring-20260101-120000 --n 2500 --out samples.npz
    minigan evaluate runs/ring-20260101-120000
"""
import argparse
import dataclasses
import glob
import json
import os
import sys
import time

import numpy as np

from .backend import keep_freed_memory
from .gan import DATASETS, FAMILIES, Interrupted, Run, TrainConfig, Trainer, TrainingDiverged, latent


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line on stderr and exit status 2 (argparse would print the whole usage first)."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def checked(convert, ok, expected):
    """An argparse type: ``convert(text)``, which must satisfy ``ok``; else "expected <expected>"."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value
    parse.__name__ = convert.__name__  # argparse names the type in its own messages
    return parse


positive_int = checked(int, lambda v: v >= 1, "a positive integer")
positive_float = checked(float, lambda v: v > 0, "a positive number")
fraction = checked(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def betas(text):
    try:
        b1, b2 = (float(b) for b in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers like 0.5,0.999, got {text!r}") from None
    return b1, b2


def option_type(convert):
    """An argparse type from a family option's converter: its ValueError becomes a usage error."""
    def parse(text):
        try:
            return convert(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = convert.__name__
    return parse


TRAIN_EPILOG = """\
Settings not given take the model's recipe for the dataset: for ring and grid, Adam (betas 0, 0.99)
at lr 2e-3 decayed to 2e-4, batches of 512, PacGAN pairs, an EMA of G's weights and 2-D noise, a
4-layer ReLU G (12,000 steps on the ring, 40,000 on the grid), which cover every mode;
for mnist and fashion-mnist, the 2014 paper's (SGD with momentum 0.5, lr 0.1, batches of 100,
1200-1200 ReLU generator with a sigmoid output, 240x5 Maxout discriminator with dropout).

The run folder (default runs/<dataset>-<time>) gets config.json, metrics.jsonl, checkpoint.npz,
samples/step-*.png, samples.png and losses.png. Ctrl-C or SIGTERM writes a checkpoint and stops;
--resume --out RUN continues it, giving the same weights as a run that never stopped.

examples:
  minigan train
  minigan train --dataset grid --seed 1 --out runs/grid-1
  minigan train mlp-gan --dataset fashion-mnist --epochs 50 --data-dir ~/data
  minigan train --config runs/grid-1/config.json --seed 2
"""


def add_train_parser(sub):
    p = sub.add_parser("train", help="train a GAN", description="Train a GAN (Algorithm 1 of Goodfellow et al. "
                       "2014: k discriminator updates, then one generator update).", epilog=TRAIN_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=argparse.SUPPRESS)
    p.add_argument("model", nargs="?", default=None, choices=sorted(FAMILIES), help="model family (default: mlp-gan)")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=sorted(DATASETS), help="what to learn (default: ring)")
    data.add_argument("--data-dir", metavar="DIR", help="where the MNIST-family .gz files are (or go)")
    length = data.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, metavar="N", help="generator updates")
    length.add_argument("--epochs", type=positive_int, metavar="N", help="passes over an image dataset")
    data.add_argument("--batch-size", type=positive_int, metavar="B")
    opt = p.add_argument_group("optimization")
    opt.add_argument("--k", type=positive_int, help="discriminator updates per generator update (default 1)")
    opt.add_argument("--optimizer", choices=["adam", "sgd"])
    opt.add_argument("--lr", type=positive_float, help="learning rate (of both nets)")
    opt.add_argument("--lr-d", type=positive_float, metavar="LR", help="the discriminator's, if different")
    opt.add_argument("--lr-decay", type=positive_float, metavar="F",
                     help="lr decays exponentially to F * lr at the last step (1: constant)")
    opt.add_argument("--betas", type=betas, metavar="B1,B2", help="Adam's (default 0.5,0.999)")
    opt.add_argument("--momentum", type=fraction, help="SGD's")
    opt.add_argument("--loss", choices=["non-saturating", "minimax"],
                     help="generator loss: -log D(G(z)) (default) or log(1 - D(G(z)))")
    opt.add_argument("--pack", type=positive_int, metavar="M", help="PacGAN: D judges M samples at once")
    opt.add_argument("--ema", type=fraction, metavar="DECAY", help="sample from a moving average of G's "
                     "weights with this decay, e.g. 0.999 (0: off)")
    opt.add_argument("--noise", choices=["uniform", "normal"], help="distribution of z")
    opt.add_argument("--noise-dim", "--nz", type=positive_int, metavar="D", help="size of z (default 100)")
    run = p.add_argument_group("run")
    run.add_argument("--device", choices=["cpu", "cuda"])
    run.add_argument("--seed", type=int, help="fixes init, data order, noise and dropout (default 0)")
    run.add_argument("--out", metavar="DIR", help="run folder (default runs/<dataset>-<time>)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out (default: the newest "
                     "under runs/) from its checkpoint")
    run.add_argument("--config", metavar="FILE", help="start from a run's config.json (other flags override)")
    run.add_argument("--log-every", type=positive_int, metavar="N", help="steps between metrics.jsonl lines")
    run.add_argument("--checkpoint-every", type=positive_int, metavar="N")
    run.add_argument("--sample-every", type=positive_int, metavar="N", help="steps between sample pictures")
    run.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    run.add_argument("--dry-run", action="store_true", help="two steps only, to check the setup")
    for family in FAMILIES.values():
        group = p.add_argument_group(f"{family.name} networks", family.help)
        for key, (convert, text) in family.options.items():
            group.add_argument("--" + key.replace("_", "-"), dest=key, type=option_type(convert), help=text)
    p.set_defaults(handler=train)


def run_parser(sub, name, handler, **texts):
    """A subcommand that reads a run folder: RUN_DIR, --seed and --device."""
    p = sub.add_parser(name, **texts)
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.set_defaults(handler=handler)
    return p


def add_run_parsers(sub):
    p = run_parser(sub, "sample", sample, help="draw samples from a run", description="Draw samples from a run's "
                   "latest checkpoint (its EMA generator if it kept one) into an .npz file, key 'samples': "
                   "points (N, 2), or images (N, C, H, W) in [-1, 1].")
    p.add_argument("--n", type=positive_int, default=1000, help="how many (default 1000)")
    p.add_argument("--out", metavar="FILE.npz", help="default RUN_DIR/samples.npz")
    run_parser(sub, "evaluate", evaluate, help="print a run's metrics as JSON",
               description=("Print a run's metrics as JSON. 2D data: modes covered, % high-quality samples and "
                            "reverse KL of 2,500 samples. Images: the Parzen-window log-likelihood of the test set "
                            "(10,000 samples, sigma chosen on 1,000 validation images, pixels in [0, 1]). DCGAN runs "
                            "on mnist and fashion-mnist add a classifier's Frechet distance (10,000 generated vs "
                            "10,000 test images; comparable only between runs on the same dataset and image size), "
                            "classes covered, mean confidence and linear probes on D's features and on raw pixels "
                            "(the classifier is trained once, about a minute, and cached in "
                            "~/.cache/minigan/classifiers)."))


def add_latent_parsers(sub):
    p = sub.add_parser("interpolate", help="walk G's latent space between random points", description="Rows "
                       "of images along straight lines (or great circles, --slerp) between random noise vectors, "
                       "as a PNG grid and optionally an animated GIF (Radford et al. 2015, section 6).")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", metavar="FILE.png", required=True)
    p.add_argument("--gif", metavar="FILE.gif", help="also an animation: frame s shows every row's image s")
    p.add_argument("--slerp", action="store_true", help="spherical interpolation")
    p.add_argument("--rows", type=positive_int, default=8, help="walks, one per row (default 8)")
    p.add_argument("--steps", type=positive_int, default=10, help="images per walk, endpoints included (default 10)")
    p.add_argument("--seed", type=int, default=0, help="noise seed of the endpoints (default 0)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.set_defaults(handler=interpolate)
    p = sub.add_parser("filters", help="draw D's first-layer and G's last-layer filters", description="One PNG: "
                       "the discriminator's first-layer filters, a gray row, then the generator's last-layer "
                       "filters, each scaled to its own range.")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", metavar="FILE.png", required=True)
    p.set_defaults(handler=filters)


def build_parser():
    parser = Parser(prog="minigan", description="minigan: a from-scratch autograd engine and the GANs of "
                    "2014 (MLP) and 2015 (DCGAN).", epilog="minigan COMMAND --help for each command's options.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    add_train_parser(sub)
    add_run_parsers(sub)
    add_latent_parsers(sub)
    return parser


CONFIG_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def train_config(args):
    """The TrainConfig of ``args``: a saved one (--resume, --config) or the recipe, overridden by the flags."""
    given = {k: v for k, v in vars(args).items() if k in CONFIG_FIELDS and v is not None}
    family = FAMILIES[given.get("model", "mlp-gan")]
    arch = {k: getattr(args, k) for k in family.options if hasattr(args, k)}
    if "steps" in given or "epochs" in given:
        given = {"steps": None, "epochs": None, **given}
    if getattr(args, "dry_run", False):
        given.update(steps=2, epochs=None, log_every=1)
    saved = getattr(args, "config", None) or (os.path.join(args.out, "config.json") if args.resume else None)
    if saved is None:
        given.pop("model", None)
        return TrainConfig.for_model(family.name, given.pop("dataset", "ring"), **given, arch=arch)
    config = TrainConfig.load(saved)
    return dataclasses.replace(config, **given, arch={**config.arch, **arch}).validate()


def run_folder(args):
    if args.resume:
        return args.out if hasattr(args, "out") else newest_run(getattr(args, "dataset", "*"))
    if hasattr(args, "out"):
        if os.path.exists(os.path.join(args.out, "checkpoint.npz")):
            raise ValueError(f"{args.out} already holds a run; pass --resume to continue it, or another --out")
        return args.out
    stem = os.path.join("runs", f"{getattr(args, 'dataset', 'ring')}-{time.strftime('%Y%m%d-%H%M%S')}")
    path, n = stem, 1
    while os.path.exists(path):
        n += 1
        path = f"{stem}-{n}"
    return path


def newest_run(dataset):
    runs = sorted(glob.glob(os.path.join("runs", f"{dataset}-*", "checkpoint.npz")), key=os.path.getmtime)
    if not runs:
        raise ValueError("--resume: no run with a checkpoint under runs/; name one with --out")
    return os.path.dirname(runs[-1])


def train(args):
    args.resume, quiet = getattr(args, "resume", False), getattr(args, "quiet", False)
    args.out = run_folder(args)
    trainer = Trainer(train_config(args), args.out, resume=args.resume, quiet=quiet)
    c = trainer.config
    say = (lambda *a: None) if quiet else (lambda text: print(f"minigan: {text}", file=sys.stderr))
    say(f"{'resuming' if args.resume else 'training'} {c.model} on {c.dataset} ({c.device}, seed {c.seed}) "
        f"from step {trainer.step} to {trainer.total_steps} -> {args.out}")
    try:
        trainer.fit()
    except Interrupted as e:
        say(f"{e}; continue with: minigan train --resume --out {args.out}")
        return 128 + e.signum
    except TrainingDiverged as e:
        checkpoint = os.path.join(args.out, "checkpoint.npz")
        kept = (f"the last good checkpoint, {checkpoint}, is left in place" if os.path.exists(checkpoint)
                else "no checkpoint had been written yet")
        raise TrainingDiverged(f"{e}; the run stopped and {kept}. Try a smaller --lr") from None
    say(f"done: {args.out} (evaluate with: minigan evaluate {args.out})")
    return 0


def sample(args):
    samples = Run(args.run, args.device).sample(args.n, args.seed)
    out = args.out or os.path.join(args.run, "samples.npz")
    np.savez(out, samples=samples)
    print(f"minigan: {samples.shape} samples -> {out}", file=sys.stderr)
    return 0


def evaluate(args):
    print(json.dumps(Run(args.run, args.device).evaluate(args.seed), indent=2))
    return 0


def interpolate(args):
    rows = latent.interpolate(Run(args.run, args.device), args.rows, args.steps, args.seed, args.slerp)
    latent.save_rows(rows, args.out)
    if args.gif:
        latent.save_gif(rows, args.gif)
    print(f"minigan: {args.rows} walks of {args.steps} images -> {' and '.join(filter(None, (args.out, args.gif)))}",
          file=sys.stderr)
    return 0


def filters(args):
    latent.save_filters(Run(args.run), args.out)
    print(f"minigan: filters -> {args.out}", file=sys.stderr)
    return 0


def main(argv=None):
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # a process-wide malloc setting: minigan's programs make it, import minigan does not
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # one line for the person at the terminal; MINIGAN_DEBUG=1 shows the traceback
        if os.environ.get("MINIGAN_DEBUG"):
            raise
        message = " ".join(str(e).split())
        print(f"minigan {args.command}: error: {message or type(e).__name__}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
