"""FID and KID of ganforge's three FID modes beside the reference implementations, on fixed sets.

Three steps (the reference packages live in a scratch environment of their own, because with
their dependencies they pull torchvision, which replaces the CPU torch of ganforge's):

  python benchmarks/fid_reference.py write DIR [--n 64]
      the image sets as PNG folders in DIR, and ganforge's FID/KID in every mode (DIR/ganforge.json)
  SCRATCH/bin/python benchmarks/fid_reference.py reference DIR --inception FILE
      clean-fid, pytorch-fid and torch-fidelity on the same folders (DIR/reference.json); needs
      torch, torchvision and `pip install --no-deps clean-fid pytorch-fid torch-fidelity` there.
      No download: all three get their Inception weights from FILE, ganforge's TorchScript file
      (NVIDIA's inception-2015-12-05 graph). clean-fid's torchscript modes use the file's own
      layers (its `resize_inside` forward, TF1 bilinear, is rebuilt here with the same
      affine_grid/grid_sample sampling); pytorch-fid and torch-fidelity load a state dict converted
      from the same weights (their 94 convolutions map one to one, in order, shapes checked).
  python benchmarks/fid_reference.py table DIR
      the side-by-side table and the relative differences

The sets: the first n MNIST train and test digits, the test digits blurred (Gaussian, radius 1)
and noised (sigma 25 grey levels), RGB versions of train and test (each digit tinted by a colour
drawn from a seeded generator), and those RGB sets upscaled to 64x64 (Pillow bicubic).
KID here is the unbiased MMD of the whole sets (one subset of size n), so it is deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

PAIRS = {  # name -> (reference set, compared set)
    "test vs train": ("train", "test"),
    "blur vs train": ("train", "test-blur"),
    "noise vs train": ("train", "test-noise"),
    "rgb test vs train": ("train-rgb", "test-rgb"),
    "rgb64 test vs train": ("train-rgb64", "test-rgb64"),
}
MODES = ("clean", "legacy-tensorflow", "legacy-pytorch")
CLEANFID_MODES = {"clean": "clean", "legacy-tensorflow": "legacy_tensorflow", "legacy-pytorch": "legacy_pytorch"}


def fid_sets(n: int) -> dict[str, np.ndarray]:
    """The fixed sets as (N, H, W) or (N, H, W, 3) uint8 arrays (needs ganforge and MNIST)."""
    from PIL import Image, ImageFilter

    from ganforge.data import load_mnist

    train = load_mnist("train", limit=n).images[:, 0].numpy()
    test = load_mnist("test", limit=n).images[:, 0].numpy()
    blur = np.stack([np.asarray(Image.fromarray(x).filter(ImageFilter.GaussianBlur(1))) for x in test])
    noise = np.random.default_rng(0).normal(0, 25, test.shape)
    noised = np.clip(np.round(test + noise), 0, 255).astype(np.uint8)

    def tint(digits: np.ndarray, seed: int) -> np.ndarray:
        colours = np.random.default_rng(seed).integers(64, 256, (len(digits), 1, 1, 3))
        return (digits[..., None].astype(np.int64) * colours // 255).astype(np.uint8)

    def upscale(images: np.ndarray, size: int) -> np.ndarray:
        return np.stack([np.asarray(Image.fromarray(x).resize((size, size), Image.Resampling.BICUBIC))
                         for x in images])

    train_rgb, test_rgb = tint(train, 1), tint(test, 2)
    return {"train": train, "test": test, "test-blur": blur, "test-noise": noised, "train-rgb": train_rgb,
            "test-rgb": test_rgb, "train-rgb64": upscale(train_rgb, 64), "test-rgb64": upscale(test_rgb, 64)}


def write_sets(sets: dict[str, np.ndarray], root: Path) -> None:
    from PIL import Image

    for name, images in sets.items():
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(images):
            Image.fromarray(image).save(folder / f"{i:05d}.png")


def fid_kid(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from ganforge.metrics import frechet_distance_from_features, kernel_inception_distance

    n = min(len(a), len(b))
    return {"fid": frechet_distance_from_features(a, b),
            "kid": kernel_inception_distance(a, b, subsets=1, subset_size=n)[0]}


def ganforge_scores(root: Path, modes=MODES, batch_size: int = 50, pairs=tuple(PAIRS)) -> dict:
    """{mode: {pair: {"fid", "kid"}}} with ganforge reading the PNG folders under `root`, for the
    named `pairs` of PAIRS (each set's features are extracted once per mode)."""
    from ganforge.evaluation import InceptionExtractor, images_from_source

    names = sorted({name for pair in pairs for name in PAIRS[pair]})
    out = {}
    for mode in modes:
        extractor = InceptionExtractor(mode=mode, batch_size=batch_size)
        features = {}
        for name in names:
            pixels = images_from_source(root / name, len(list((root / name).glob("*.png"))))
            features[name] = extractor.features(pixels)
        out[mode] = {pair: fid_kid(*(features[name] for name in PAIRS[pair])) for pair in pairs}
    return out


# ------------------------------------------------------------------ the reference implementations
def converted_state_dict(inception_file: str) -> dict[str, torch.Tensor]:
    """pytorch-fid / torch-fidelity state dict (torchvision names) from the TorchScript file."""
    import pytorch_fid.inception as pf

    original = pf.load_state_dict_from_url
    pf.load_state_dict_from_url = lambda *args, **kwargs: None  # the architecture only, no download
    try:
        model = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    finally:
        pf.load_state_dict_from_url = original
    model.Mixed_5b, model.Mixed_5c = pf.FIDInceptionA(192, 32), pf.FIDInceptionA(256, 64)
    model.Mixed_5d = pf.FIDInceptionA(288, 64)
    model.Mixed_6b, model.Mixed_6c = pf.FIDInceptionC(768, 128), pf.FIDInceptionC(768, 160)
    model.Mixed_6d, model.Mixed_6e = pf.FIDInceptionC(768, 160), pf.FIDInceptionC(768, 192)
    model.Mixed_7b, model.Mixed_7c = pf.FIDInceptionE_1(1280), pf.FIDInceptionE_2(2048)
    target = model.state_dict()
    source = torch.jit.load(inception_file).net.state_dict()
    convs = [k[: -len(".conv.weight")] for k in target if k.endswith(".conv.weight")]
    layers = [k[: -len(".weight")] for k in source if k.endswith(".weight")]
    assert len(convs) == len(layers) == 94
    out = {}
    for conv, layer in zip(convs, layers):
        weight = source[f"{layer}.weight"]
        assert weight.shape == target[f"{conv}.conv.weight"].shape, (conv, layer)
        out[f"{conv}.conv.weight"] = weight
        out[f"{conv}.bn.weight"] = torch.ones_like(source[f"{layer}.beta"])  # TF: scale=False
        out[f"{conv}.bn.bias"] = source[f"{layer}.beta"]
        out[f"{conv}.bn.running_mean"] = source[f"{layer}.mean"]
        out[f"{conv}.bn.running_var"] = source[f"{layer}.var"]
        out[f"{conv}.bn.num_batches_tracked"] = torch.tensor(0)
    out["fc.weight"], out["fc.bias"] = torch.zeros(1008, 2048), torch.zeros(1008)  # pool3 features only
    assert set(out) == set(target), set(target) ^ set(out)
    return out


class NvidiaStyleInception(torch.nn.Module):
    """clean-fid's interface to NVIDIA's inception-2015-12-05.pt (`.layers`, and a forward that
    resizes inside like TF1 `resize_bilinear`), built around the layers of ganforge's file."""

    def __init__(self, inception_file: str) -> None:
        super().__init__()
        self.layers = torch.jit.load(inception_file).net.layers

    def forward(self, img: torch.Tensor, return_features: bool = True) -> torch.Tensor:
        batch, channels, height, width = img.shape
        x = img.to(torch.float32)
        theta = torch.eye(2, 3)
        theta[0, 2] += theta[0, 0] / width - theta[0, 0] / 299
        theta[1, 2] += theta[1, 1] / height - theta[1, 1] / 299
        grid = torch.nn.functional.affine_grid(theta.unsqueeze(0).repeat(batch, 1, 1), [batch, channels, 299, 299],
                                               align_corners=False)
        x = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return self.layers((x - 128) / 128).reshape(-1, 2048)


def reference_scores(root: Path, inception_file: str) -> dict:
    """{implementation/mode: {pair: {"fid", "kid"}}} from clean-fid, pytorch-fid, torch-fidelity."""
    import cleanfid.features
    import cleanfid.fid
    import cleanfid.inception_pytorch
    import cleanfid.inception_torchscript
    import pytorch_fid.fid_score
    import pytorch_fid.inception
    import torch_fidelity

    state = converted_state_dict(inception_file)
    weights = root / "converted-inception.pth"
    torch.save(state, weights)

    def init(self, path, download=True, resize_inside=False):
        torch.nn.Module.__init__(self)
        self.base = NvidiaStyleInception(inception_file)
        self.layers, self.resize_inside = self.base.layers, resize_inside

    cleanfid.inception_torchscript.InceptionV3W.__init__ = init
    cleanfid.inception_pytorch.load_state_dict_from_url = lambda *args, **kwargs: state
    pytorch_fid.inception.load_state_dict_from_url = lambda *args, **kwargs: state

    names = sorted({name for pair in PAIRS.values() for name in pair})
    out: dict = {}
    cpu = torch.device("cpu")
    for mode in MODES:
        model = cleanfid.features.build_feature_extractor(CLEANFID_MODES[mode], cpu, use_dataparallel=False)
        features = {name: cleanfid.fid.get_folder_features(str(root / name), model, num_workers=0, batch_size=50,
                                                           device=cpu, mode=CLEANFID_MODES[mode], verbose=False)
                    for name in names}
        out[f"clean-fid {CLEANFID_MODES[mode]}"] = {
            pair: {"fid": float(cleanfid.fid.fid_from_feats(features[a], features[b])),
                   "kid": float(cleanfid.fid.kernel_distance(features[a], features[b], num_subsets=1,
                                                             max_subset_size=len(features[a])))}
            for pair, (a, b) in PAIRS.items()}

    model = pytorch_fid.inception.InceptionV3([3]).eval()
    features = {}
    for name in names:
        files = sorted(str(p) for p in (root / name).glob("*.png"))
        features[name] = pytorch_fid.fid_score.get_activations(files, model, batch_size=50, dims=2048, device="cpu",
                                                               num_workers=0)
    out["pytorch-fid"] = {pair: fid_kid_plain(features[a], features[b]) for pair, (a, b) in PAIRS.items()}

    out["torch-fidelity"] = {}
    for pair, (a, b) in PAIRS.items():
        n = len(list((root / a).glob("*.png")))
        metrics = torch_fidelity.calculate_metrics(
            input1=str(root / b), input2=str(root / a), fid=True, kid=True, kid_subsets=1, kid_subset_size=n,
            feature_extractor_weights_path=str(weights), cuda=False, verbose=False, cache=False)
        out["torch-fidelity"][pair] = {"fid": metrics["frechet_inception_distance"],
                                       "kid": metrics["kernel_inception_distance_mean"]}
    return out


def fid_kid_plain(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """FID (scipy sqrtm, as pytorch-fid) and whole-set unbiased KID without ganforge."""
    import pytorch_fid.fid_score

    a, b = a.astype(np.float64), b.astype(np.float64)
    fid = pytorch_fid.fid_score.calculate_frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0),
                                                           np.cov(b, rowvar=False))
    d, m = a.shape[1], len(a)
    kxx, kyy, kxy = ((a @ a.T / d + 1) ** 3, (b @ b.T / d + 1) ** 3, (a @ b.T / d + 1) ** 3)
    kid = ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()
    return {"fid": float(fid), "kid": float(kid)}


# ------------------------------------------------------------------------------------- the table
COMPARED = {"clean": "clean-fid clean", "legacy-tensorflow": "clean-fid legacy_tensorflow",
            "legacy-pytorch": "pytorch-fid"}


def table(ours: dict, theirs: dict) -> str:
    rows = ["| pair | metric | " + " | ".join(f"ganforge {m}" for m in MODES) + " | "
            + " | ".join(theirs) + " |", "|---|---|" + "---:|" * (len(MODES) + len(theirs))]
    for pair in PAIRS:
        for metric in ("fid", "kid"):
            fmt = "{:.4f}" if metric == "fid" else "{:.6f}"
            cells = [fmt.format(ours[m][pair][metric]) for m in MODES] + [fmt.format(t[pair][metric])
                                                                          for t in theirs.values()]
            rows.append(f"| {pair} | {metric.upper()} | " + " | ".join(cells) + " |")
    rows.append("")
    rows.append("| pair | " + " | ".join(f"{m} vs {COMPARED[m]}" for m in MODES) + " | legacy-tensorflow vs "
                "torch-fidelity |")
    rows.append("|---|" + "---:|" * (len(MODES) + 1))
    for pair in PAIRS:
        rel = [ours[m][pair]["fid"] / theirs[COMPARED[m]][pair]["fid"] - 1 for m in MODES]
        rel.append(ours["legacy-tensorflow"][pair]["fid"] / theirs["torch-fidelity"][pair]["fid"] - 1)
        rows.append(f"| {pair} (FID) | " + " | ".join(f"{100 * r:+.4f}%" for r in rel) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("write", "reference", "table"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--n", type=int, default=64, help="images per set (write)")
    parser.add_argument("--inception", help="the TorchScript file (reference)")
    args = parser.parse_args(argv)
    if args.step == "write":
        args.dir.mkdir(parents=True, exist_ok=True)
        write_sets(fid_sets(args.n), args.dir)
        scores = ganforge_scores(args.dir)
        (args.dir / "ganforge.json").write_text(json.dumps(scores, indent=1) + "\n")
    elif args.step == "reference":
        if not args.inception:
            parser.error("reference needs --inception FILE")
        scores = reference_scores(args.dir, args.inception)
        (args.dir / "reference.json").write_text(json.dumps(scores, indent=1) + "\n")
    else:
        ours = json.loads((args.dir / "ganforge.json").read_text())
        theirs = json.loads((args.dir / "reference.json").read_text())
        print(table(ours, theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
