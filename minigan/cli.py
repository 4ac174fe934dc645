"""The ``minigan`` command: train a GAN, draw samples from a run, evaluate a run.

    minigan train                                   # the MLP GAN on the 8-Gaussian ring, on the CPU
    minigan train mlp-gan --dataset fashion-mnist --epochs 50
    minigan train --resume --out runs/ring-20260101-120000
    minigan sample runs/ring-20260101-120000 --n 2500 --out samples.npz
    minigan evaluate runs/ring-20260101-120000

``run_program`` gives the examples/ the same behaviour at Ctrl-C and on errors.
"""
import argparse
import dataclasses
import difflib
import glob
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time

import numpy as np

from . import __version__, progress
from .backend import keep_freed_memory
from .gan import DATASETS, FAMILIES, Interrupted, Run, TrainConfig, Trainer, TrainingDiverged, latent
from .gan.trainer import as_flag


class UsageError(ValueError):
    """A bad argument that only the recipe or the run shows: one line and status 2, as argparse's own."""


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line on stderr and exit status 2 (argparse would print the whole usage first)."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args=None, namespace=None):
        """argparse's, but an argument this (sub)command does not know is its error, named, with a guess."""
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            guesses = [difflib.get_close_matches(arg.split("=")[0], self._option_string_actions, n=1)
                       for arg in extras if arg.startswith("--")]
            guess = ", ".join(g[0] for g in guesses if g)
            self.error(f"unrecognized argument{'s' * (len(extras) > 1)}: {' '.join(extras)}"
                       + (f"; did you mean {guess}?" if guess else ""))
        return namespace, extras


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
betas = checked(lambda text: tuple(float(b) for b in text.split(",")),
                lambda b: len(b) == 2 and all(0 <= v < 1 for v in b), "two numbers in [0, 1) like 0.5,0.999")


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
The run folder (default runs/<dataset>-<time>) gets config.json, metrics.jsonl, checkpoint.npz,
samples/step-*.png, samples.png and losses.png. Ctrl-C or SIGTERM writes a checkpoint and stops;
--resume --out RUN continues it, giving the same weights as a run that never stopped. A resumed run
keeps what defines it: only --steps/--epochs, --log-every, --checkpoint-every, --sample-every,
--device and --data-dir may change.

examples:
  minigan train
  minigan train --dataset grid --seed 1 --out runs/grid-1
  minigan train mlp-gan --dataset fashion-mnist --epochs 50 --data-dir ~/data
  minigan train dcgan --dataset folder --data-dir ~/faces --help     # that recipe's defaults
  minigan train --config runs/grid-1/config.json --seed 2
"""


class RecipeHelp(argparse.Action):
    """-h/--help: the options, each with the default of the recipe of the model and dataset given before it."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0,
                         help="show the options with the defaults of MODEL on --dataset (given before --help)")

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            recipe = TrainConfig.for_model(family(namespace.model).name, getattr(namespace, "dataset", None))
        except ValueError as e:
            parser.error(str(e))
        help_parser = Parser(prog=parser.prog, **train_texts(recipe))
        add_train_arguments(help_parser, recipe)
        help_parser.print_help()
        parser.exit()


def train_texts(recipe):
    return dict(description=f"Train a GAN (Algorithm 1 of Goodfellow et al. 2014: k discriminator updates, then "
                f"one generator update).\nDefaults below: {recipe.model}'s recipe for {recipe.dataset}; "
                f"minigan train MODEL --dataset NAME --help shows another's.", epilog=TRAIN_EPILOG,
                usage="%(prog)s [MODEL] [--dataset NAME] [options]",
                formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=argparse.SUPPRESS,
                add_help=False)


def add_train_parser(sub):
    recipe = TrainConfig.for_model()
    p = sub.add_parser("train", help="train a GAN", **train_texts(recipe))
    add_train_arguments(p, recipe)
    p.set_defaults(handler=train)


def add_train_arguments(p, recipe):
    """The options of ``minigan train``, each help ending with what ``recipe`` (a TrainConfig) sets it to; the
    options of the other model families are accepted (to be refused by name) but not shown."""
    def default(value):
        return f" (default: {'none' if value is None else as_flag(value)})"

    def only(name, optimizer, text):
        return text + (default(getattr(recipe, name)) if recipe.optimizer == optimizer
                       else f" (with --optimizer {optimizer})")

    p.add_argument("-h", "--help", action=RecipeHelp)
    p.add_argument("model", nargs="?", default=None, metavar="MODEL",
                   help=f"model family: {' or '.join(sorted(FAMILIES))} (default: mlp-gan)")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=sorted(DATASETS),
                      help=f"what to learn (default: {FAMILIES[recipe.model].default_dataset})")
    data.add_argument("--data-dir", metavar="DIR", help="where the MNIST-family .gz files are (or go), or the "
                      "folder of images of --dataset folder")
    length = data.add_mutually_exclusive_group()
    length.add_argument("--steps", type=positive_int, metavar="N", help="generator updates" + default(recipe.steps))
    length.add_argument("--epochs", type=positive_int, metavar="N", help="passes over an image dataset"
                        + default(recipe.epochs))
    data.add_argument("--batch-size", type=positive_int, metavar="B", help="samples per batch"
                      + default(recipe.batch_size))
    opt = p.add_argument_group("optimization")
    opt.add_argument("--k", type=positive_int, help="discriminator updates per generator update" + default(recipe.k))
    opt.add_argument("--optimizer", choices=["adam", "sgd"], help="of both nets" + default(recipe.optimizer))
    opt.add_argument("--lr", type=positive_float, help="learning rate (of both nets)" + default(recipe.lr))
    opt.add_argument("--lr-d", type=positive_float, metavar="LR", help="the discriminator's, if different"
                     + default(recipe.lr_d or "--lr"))
    opt.add_argument("--lr-decay", type=positive_float, metavar="F",
                     help="lr decays exponentially to F * lr at the last step (1: constant)"
                     + default(recipe.lr_decay))
    opt.add_argument("--betas", type=betas, metavar="B1,B2", help=only("betas", "adam", "Adam's"))
    opt.add_argument("--momentum", type=fraction, help=only("momentum", "sgd", "SGD's"))
    opt.add_argument("--loss", choices=["non-saturating", "minimax"],
                     help="generator loss: -log D(G(z)) or log(1 - D(G(z)))" + default(recipe.loss))
    opt.add_argument("--pack", type=positive_int, metavar="M", help="PacGAN: D judges M samples at once"
                     + default(recipe.pack))
    opt.add_argument("--ema", type=fraction, metavar="DECAY", help="sample from a moving average of G's "
                     "weights with this decay, e.g. 0.999 (0: off)" + default(recipe.ema))
    opt.add_argument("--noise", choices=["uniform", "normal"], help="distribution of z" + default(recipe.noise))
    opt.add_argument("--noise-dim", "--nz", type=positive_int, metavar="D",
                     help="size of z" + default(recipe.noise_dim))
    run = p.add_argument_group("run")
    run.add_argument("--device", choices=["cpu", "cuda"], help="cuda needs CuPy" + default(recipe.device))
    run.add_argument("--seed", type=int, help="fixes init, data order, noise and dropout" + default(recipe.seed))
    run.add_argument("--out", metavar="DIR", help="run folder (default runs/<dataset>-<time>)")
    run.add_argument("--resume", action="store_true", help="continue the run in --out (default: the newest "
                     "under runs/) from its checkpoint")
    run.add_argument("--config", metavar="FILE", help="start a new run from a run's config.json (other flags "
                     "override it)")
    run.add_argument("--log-every", type=positive_int, metavar="N", help="steps between metrics.jsonl lines"
                     + default(recipe.log_every))
    run.add_argument("--checkpoint-every", type=positive_int, metavar="N", help="steps between checkpoints"
                     + default(recipe.checkpoint_every))
    run.add_argument("--sample-every", type=positive_int, metavar="N", help="steps between sample pictures"
                     + default(recipe.sample_every))
    run.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    run.add_argument("--dry-run", action="store_true", help="train two steps (from the checkpoint, with --resume) "
                     "in a temporary folder, to check the data, device and setup; nothing is written")
    for fam in FAMILIES.values():
        shown = fam.name == recipe.model
        group = p.add_argument_group(f"{fam.name} networks", fam.help) if shown else p
        for key, (convert, text) in fam.options.items():
            group.add_argument("--" + key.replace("_", "-"), dest=key, type=option_type(convert),
                               help=text + default(recipe.arch.get(key)) if shown else argparse.SUPPRESS)


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
    p = run_parser(sub, "evaluate", evaluate, help="print a run's metrics as JSON",
                   description=("Print a run's metrics as JSON (a metric that is infinite or NaN is null, and "
                                "'non_finite' says what it was). 2D data: modes covered, % high-quality samples and "
                                "reverse KL of 2,500 samples. Images: the Parzen-window log-likelihood of the test "
                                "set (10,000 samples, sigma chosen on 1,000 validation images, pixels in [0, 1]). "
                                "DCGAN runs on mnist and fashion-mnist add a classifier's Frechet distance (10,000 "
                                "generated vs 10,000 test images; comparable only between runs on the same dataset "
                                "and image size), classes covered, mean confidence and linear probes on D's "
                                "features and on raw pixels (the classifier is trained once, about a minute, and "
                                "cached in ~/.cache/minigan/classifiers). Progress bars go to stderr."))
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_latent_parsers(sub):
    p = sub.add_parser("interpolate", help="walk G's latent space between random points", description="Rows "
                       "of images along straight lines (or great circles, --slerp) between random noise vectors, "
                       "as a PNG grid and optionally an animated GIF (Radford et al. 2015, section 6). For runs "
                       "on images.")
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
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser)
    add_train_parser(sub)
    add_run_parsers(sub)
    add_latent_parsers(sub)
    return parser


CONFIG_FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def family(name):
    """The model family named on the command line (default mlp-gan); UsageError for an unknown one."""
    if name is not None and name not in FAMILIES:
        raise UsageError(f"argument MODEL: invalid choice: {name!r} (choose from {', '.join(sorted(FAMILIES))})")
    return FAMILIES[name or "mlp-gan"]


def given_settings(args):
    """The TrainConfig fields given on the command line; ``arch``: the model families' options."""
    given = {k: v for k, v in vars(args).items() if k in CONFIG_FIELDS and v is not None}
    options = {key for fam in FAMILIES.values() for key in fam.options}
    return {**given, "arch": {k: getattr(args, k) for k in options if hasattr(args, k)}}


def check_family_options(model, arch):
    """UsageError for an option of another model family than ``model``'s."""
    for key in set(arch) - set(FAMILIES[model].options):
        owner = next(fam.name for fam in FAMILIES.values() if key in fam.options)
        raise UsageError(f"--{key.replace('_', '-')} is an option of {owner}, not of {model}")


def load_config(path, flag):
    """TrainConfig.load(path), its errors naming ``flag`` and the file."""
    try:
        return TrainConfig.load(path)
    except OSError as e:
        raise ValueError(f"{flag} {path}: {e.strerror}") from None
    except ValueError as e:
        raise ValueError(f"{flag} {path}: {str(e).removeprefix(f'{path}: ')}") from None


def train_config(args):
    """(the TrainConfig of ``args``, the run folder): a new run's (the recipe or --config, then the flags), or the
    resumed run's with the changes it allows. Every setting is checked here, before anything is written."""
    given = given_settings(args)
    family(args.model)  # a known one, or UsageError
    if args.dry_run:
        given.update(log_every=1, sample_every=1)
    if args.resume:
        if hasattr(args, "config"):
            raise UsageError("--config starts a new run; --resume continues the run in --out with its own config")
        folder = args.out if hasattr(args, "out") else newest_run(getattr(args, "dataset", "*"))
        if not os.path.exists(os.path.join(folder, "checkpoint.npz")):
            raise ValueError(f"--resume: {folder} holds no run to continue (it has no checkpoint.npz)")
        saved = load_config(os.path.join(folder, "config.json"), "--resume: the run's")
        check_family_options(given.get("model", saved.model), given["arch"])
        try:
            config = saved.resumed(**given)
        except ValueError as e:
            raise UsageError(f"--resume --out {folder}: {e}") from None
    elif hasattr(args, "config"):
        saved = load_config(args.config, "--config")
        check_family_options(given.get("model", saved.model), given["arch"])
        if "steps" in given or "epochs" in given:
            given = {"steps": None, "epochs": None, **given}
        arch = given.pop("arch")
        config = dataclasses.replace(saved, **given, arch={**saved.arch, **arch}).validate()
    else:
        model = given.pop("model", "mlp-gan")
        check_family_options(model, given["arch"])
        config = TrainConfig.for_model(model, given.pop("dataset", None), **given)
    check_applies(config, given)
    return config, folder if args.resume else new_run_folder(args, config)


def check_applies(config, given):
    """UsageError for a given flag that the run would not use: Adam's betas with SGD, and so on."""
    unused = {"betas": config.optimizer != "adam", "momentum": config.optimizer != "sgd",
              "data_dir": DATASETS[config.dataset].kind == "points"}
    for name, value in given.items():
        if unused.get(name):
            reason = (f"the run uses {config.optimizer}" if name in ("betas", "momentum") else
                      f"{config.dataset} is drawn on the fly, from no files")
            raise UsageError(f"--{name.replace('_', '-')} {as_flag(value)} does not apply: {reason}")


def new_run_folder(args, config):
    if hasattr(args, "out"):
        if os.path.exists(os.path.join(args.out, "checkpoint.npz")):
            raise ValueError(f"{args.out} already holds a run; pass --resume to continue it, or another --out")
        return args.out
    stem = os.path.join("runs", f"{config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}")
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
    args.resume, args.dry_run, quiet = (getattr(args, k, False) for k in ("resume", "dry_run", "quiet"))
    say = (lambda text: None) if quiet else (lambda text: print(f"minigan: {text}", file=sys.stderr))
    config, folder = train_config(args)
    if not args.dry_run:
        return fit(Trainer(config, folder, resume=args.resume, quiet=quiet), folder, say, args.resume)
    with tempfile.TemporaryDirectory() as tmp:
        if args.resume:  # a copy, so that nothing of the run changes
            for name in ("config.json", "checkpoint.npz"):
                shutil.copy(os.path.join(folder, name), tmp)
        return fit(Trainer(config, tmp, resume=args.resume, quiet=quiet), folder, say, args.resume, dry_run=True)


def fit(trainer, folder, say, resumed, dry_run=False):
    """Train ``trainer`` to its last step (two more steps for a dry run); the exit status."""
    c, until = trainer.config, trainer.step + 2 if dry_run else None
    if trainer.step == trainer.total_steps:
        say(f"nothing to do: {folder} is at its last step, {trainer.step}; give more --steps or --epochs to go on")
        trainer.close()
        return 0
    say(f"{'resuming' if resumed else 'training'} {c.model} on {c.dataset} ({c.device}, seed {c.seed}) from "
        f"step {trainer.step} to {min(until or trainer.total_steps, trainer.total_steps)} of {trainer.total_steps} "
        f"-> {'a temporary folder (dry run)' if dry_run else folder}")
    try:
        trainer.fit(until)
    except Interrupted as e:
        say(f"dry run stopped by {signal.Signals(e.signum).name}; nothing was written" if dry_run else
            f"{e}; continue with: minigan train --resume --out {shlex.quote(folder)}")
        return 128 + e.signum
    except TrainingDiverged as e:
        checkpoint = os.path.join(folder, "checkpoint.npz")
        kept = (f"the last good checkpoint, {checkpoint}, is left in place" if os.path.exists(checkpoint)
                else "no checkpoint had been written yet")
        raise TrainingDiverged(f"{e}; the run stopped and {kept}. Try a smaller --lr") from None
    say("dry run: the setup works; nothing was written" if dry_run else
        f"done: {folder} (evaluate with: minigan evaluate {shlex.quote(folder)})")
    return 0


def sample(args):
    samples = Run(args.run, args.device).sample(args.n, args.seed)
    out = args.out or os.path.join(args.run, "samples.npz")
    np.savez(out, samples=samples)
    print(f"minigan: {samples.shape} samples -> {out}", file=sys.stderr)
    return 0


def evaluate(args):
    with progress.shown(not args.quiet):
        result = Run(args.run, args.device).evaluate(args.seed)
    print(json.dumps(result, indent=2, allow_nan=False))
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


def run_program(main, *args, name=None):
    """``main(*args)`` as a program: its return value is the exit status. A training run that Ctrl-C or SIGTERM
    stopped (Interrupted) gives one line saying that the same command continues it, and status 128 + the signal;
    Ctrl-C elsewhere gives status 130; any other error one line and status 1 (MINIGAN_DEBUG=1: the traceback)."""
    name = name or os.path.basename(sys.argv[0])
    try:
        return main(*args)
    except Interrupted as e:
        print(f"{name}: {e}; continue with: python {shlex.join(sys.argv)}", file=sys.stderr)
        return 128 + e.signum
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except UsageError as e:
        print(f"{name}: error: {e} (see {name} --help)", file=sys.stderr)
        return 2
    except Exception as e:  # one line for the person at the terminal
        if os.environ.get("MINIGAN_DEBUG"):
            raise
        print(f"{name}: error: {' '.join(str(e).split()) or type(e).__name__}", file=sys.stderr)
        return 1


def main(argv=None):
    args = build_parser().parse_args(argv)
    keep_freed_memory()  # a process-wide malloc setting: minigan's programs make it, import minigan does not
    return run_program(args.handler, args, name=f"minigan {args.command}")


if __name__ == "__main__":
    sys.exit(main())
