"""Mode collapse on 2-D mixtures (ring of 8, grid of 25): modes covered and high-quality fraction.

    python benchmarks/mode_collapse.py [--steps 5000] [--seeds 0,1,2] [--losses nonsaturating,wasserstein+gp]
    python benchmarks/mode_collapse.py --losses wasserstein+gp --lr 1e-4 --betas 0,0.9 --d-steps 5   # WGAN-GP's own
    python benchmarks/mode_collapse.py --presets dcgan,stylegan2-lite --steps 15000   # the presets' games

A loss may carry regularisers after plus signs: a gradient penalty (wasserstein+gp,
nonsaturating+r1), spectral norm in D (hinge+sn) and/or an EMA of G's weights, decay 0.999,
which then makes the samples (nonsaturating+r1+ema). With --presets, each row plays a preset's
game instead (its loss, penalty and interval, D steps, spectral norm, Adam rates and betas, EMA,
mode seeking: ganforge.training.toy.preset_recipe) with the same MLPs; --lr, --betas,
--d-steps and --penalty-weight then do not apply.

For every mixture x row, trains ganforge's MLP GAN (same train_step as the image GANs) once per
seed, draws 2,500 samples and scores them with ganforge.metrics.mode_coverage (high quality:
within 3 std of a centre; a mode is covered with >= 20 high-quality samples). Prints a table of
mean +- std over seeds (and each seed's value) and writes a plot of the first seed's samples
over the real modes.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from ganforge.data.toy import MIXTURES
from ganforge.metrics import mode_coverage
from ganforge.training.plots import plot_toy_samples
from ganforge.training.toy import preset_recipe, sample_toy, train_toy_gan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--losses", default="nonsaturating,minimax")
    parser.add_argument("--presets", default=None, help="comma-separated preset names: rows play their games")
    parser.add_argument("--plot", default="docs/figures/mode_collapse.png")
    parser.add_argument("--penalty-weight", type=float, default=10.0, help="for gp (lambda) / r1 (gamma)")
    parser.add_argument("--betas", default="0.5,0.999", help="Adam betas")
    parser.add_argument("--d-steps", type=int, default=1, help="D updates per G update")
    parser.add_argument("--mixtures", default=",".join(MIXTURES), help="comma-separated, of " + ", ".join(MIXTURES))
    parser.add_argument("--init", default="default", choices=("default", "dcgan"),
                        help="weights: PyTorch's Linear default, or DCGAN's N(0, 0.02)")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    betas = tuple(float(b) for b in args.betas.split(","))
    if args.presets:
        rows = {f"preset {name}": preset_recipe(name) for name in args.presets.split(",")}
        print(f"{args.steps} G steps, batch 256, each preset's own game, {args.init} init, seeds {seeds}, 2,500 samples\n")
    else:
        rows = {loss: _loss_row(loss, args, betas) for loss in args.losses.split(",")}
        print(f"{args.steps} G steps, {args.d_steps} D step(s) each, batch 256, Adam lr {args.lr} betas {betas}, "
              f"{args.init} init, seeds {seeds}, 2,500 samples\n")
    print("| mixture | row | modes covered | high-quality fraction |\n|---|---|---:|---:|")
    panels = []
    mixtures = args.mixtures.split(",")
    for name in mixtures:
        mixture = MIXTURES[name]()
        for loss, recipe in rows.items():
            covered, quality = [], []
            for seed in seeds:
                generator = train_toy_gan(mixture, steps=args.steps, seed=seed, init=args.init, **recipe)
                samples = sample_toy(generator, 2500)
                result = mode_coverage(samples.numpy(), mixture.centres.numpy(), mixture.std)
                covered.append(result["modes_covered"])
                quality.append(result["high_quality"])
                if seed == seeds[0]:
                    panels.append((f"{name}, {loss}\nseed {seed}: {result['modes_covered']}/{result['modes']} modes",
                                   samples.numpy(), mixture.centres.numpy()))
            print(f"| {name} | {loss} | {_over_seeds(covered, '.1f', 'd', f' of {len(mixture.centres)}')} "
                  f"| {_over_seeds(quality, '.3f', '.3f')} |", flush=True)
    plot_toy_samples(panels, Path(args.plot), columns=len(panels) // len(mixtures))
    print(f"\nplot: {args.plot}")


def _over_seeds(values: list, fmt: str, each_fmt: str, unit: str = "") -> str:
    """'mean ± std{unit} (each, seed's, value)'; the std is 0 and the list left out for one seed."""
    spread = statistics.pstdev(values) if len(values) > 1 else 0.0
    each = f" ({', '.join(format(v, each_fmt) for v in values)})" if len(values) > 1 else ""
    return f"{statistics.mean(values):{fmt}} ± {spread:{fmt}}{unit}{each}"


def _loss_row(loss: str, args: argparse.Namespace, betas: tuple[float, ...]) -> dict:
    """train_toy_gan's arguments for a loss with +gp/+r1/+sn/+ema extras, on the shared setting."""
    loss_name, *extras = loss.split("+")
    unknown = set(extras) - {"gp", "r1", "sn", "ema"}
    if unknown:
        raise SystemExit(f"--losses: unknown extra {', '.join(sorted(unknown))} in {loss!r} (expected gp, r1, sn, ema)")
    return {"loss": loss_name, "penalty": next((e for e in extras if e in ("gp", "r1")), None),
            "penalty_weight": args.penalty_weight, "spectral_norm": "sn" in extras,
            "ema_decay": 0.999 if "ema" in extras else None,
            "lr": args.lr, "betas": betas, "d_steps": args.d_steps}


if __name__ == "__main__":
    main()
