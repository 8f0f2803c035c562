import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

import ganforge
from ganforge.cli.main import main
from ganforge.errors import ConfigError, DataError
from ganforge.evaluation import (
    ModuleExtractor,
    compare,
    evaluate_images,
    images_from_source,
    classifier_extractor,
    reference_images,
)
from ganforge.data.transforms import to_uint8
from ganforge.evaluation.report import compare_features
from ganforge.metrics import kernel_inception_distance
from ganforge.models.classifier import classifier_report
from ganforge.training import train
from tests.conftest import tiny_config


class MeanPool(nn.Module):
    """Features = per-channel mean and std: a transparent extractor for tests."""

    def forward(self, x):
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1)


def test_user_module_extractor_same_set_is_perfect():
    images = torch.rand(60, 3, 8, 8) * 2 - 1
    extractor = ModuleExtractor(MeanPool(), "meanpool", (3, 8, 8))
    report = evaluate_images(images, images, images, extractor, ("fd", "kid", "prdc"))
    assert report.model["FD (meanpool)"] == pytest.approx(0.0, abs=1e-9)
    assert report.model["precision"] == 1 and report.model["coverage"] == 1
    assert "real vs real" in report.table() and "FD (meanpool)" in report.table()
    assert json.loads(json.dumps(report.to_dict()))["n"] == 60


def test_kid_subsets_are_at_most_half_of_each_set_so_its_std_means_something():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(900, 8)), rng.normal(size=(900, 8)) + 0.3
    extractor = ModuleExtractor(MeanPool(), "meanpool")
    scores, _ = compare_features(real, fake, None, extractor, ("kid",), kid_subsets=10)  # 450 each, not all 900
    assert scores["KID std"] > 0
    assert (scores["KID (meanpool)"], scores["KID std"]) == kernel_inception_distance(real, fake, 10, 450, 0)
    whole, std = kernel_inception_distance(real, fake, 10, 1000, 0)  # the whole sets: every draw the same
    assert std == pytest.approx(0, abs=1e-12) and abs(scores["KID (meanpool)"] - whole) < scores["KID std"]


def test_darker_fakes_score_worse():
    real = torch.rand(80, 1, 8, 8) * 2 - 1
    extractor = ModuleExtractor(MeanPool(), "meanpool")
    near, _ = compare(real, (torch.rand(80, 1, 8, 8) * 2 - 1), extractor, ("fd",))
    far, _ = compare(real, (torch.rand(80, 1, 8, 8) - 1), extractor, ("fd",))
    assert far["FD (meanpool)"] > near["FD (meanpool)"] > 0


def test_extractor_rejects_the_wrong_shape():
    extractor = classifier_extractor()
    with pytest.raises(DataError, match=r"needs images of shape \(N, 1, 28, 28\), got \(2, 3, 28, 28\)"):
        extractor.features(torch.zeros(2, 3, 28, 28))


def test_packaged_classifier_is_accurate():
    report = classifier_report()
    assert report["test_accuracy"] >= 0.99 and "ganforge train-classifier" in report["command"]


def test_classifier_recognises_mnist_test_digits():
    from ganforge.data import load_mnist
    from ganforge.data.transforms import to_signed

    pytest.importorskip("mnist")
    test = load_mnist("test", limit=500)
    probs = classifier_extractor().probabilities(to_signed(test.images))
    assert (probs.argmax(1) == test.labels.numpy()).mean() >= 0.98


def test_sources(tmp_path):
    images = torch.rand(12, 1, 28, 28) * 2 - 1
    np.save(tmp_path / "x.npy", images.numpy())
    pixels = images_from_source(tmp_path / "x.npy", 10)
    assert pixels.dtype == torch.uint8 and torch.equal(pixels, to_uint8(images[:10]))
    np.save(tmp_path / "u.npy", np.full((3, 1, 28, 28), 255, np.uint8))
    assert images_from_source(tmp_path / "u.npy", 3).min() == 255
    assert images_from_source(tmp_path / "u.npy", 3, image_size=16).shape == (3, 1, 16, 16)
    (tmp_path / "pngs").mkdir()
    for i in range(4):
        Image.fromarray(np.full((28, 28), 60 * i, np.uint8)).save(tmp_path / "pngs" / f"{i}.png")
    loaded = images_from_source(tmp_path / "pngs", 4)
    assert loaded.shape == (4, 1, 28, 28) and loaded[1].unique().tolist() == [60]
    Image.fromarray(np.zeros((30, 30, 3), np.uint8)).save(tmp_path / "pngs" / "9.png")
    with pytest.raises(DataError, match="pictures of different sizes .28x28 and 30x30 in 9.png.; pass --image-size"):
        images_from_source(tmp_path / "pngs", 4)
    mixed = images_from_source(tmp_path / "pngs", 5, image_size=20)  # a colour picture: all become RGB
    assert mixed.shape == (5, 3, 20, 20) and torch.equal(mixed[1, 0], mixed[1, 2])


@pytest.mark.parametrize("array, message", [
    (np.zeros((5, 28, 28), np.float32), r"expected an \(N, C, H, W\) array"),
    (np.full((5, 1, 28, 28), 3.0, np.float32), "must lie in \\[-1, 1\\]"),
    (np.zeros((5, 1, 28, 28), np.int64), "dtype int64"),
    (np.full((5, 1, 28, 28), -0.5, np.float32), "has 5 images, fewer than --n 10"),
    (np.linspace(0, 1, 12 * 784, dtype=np.float32).reshape(12, 1, 28, 28), "all lie in \\[0, 1\\]; ganforge expects \\[-1, 1\\]"),
])
def test_bad_npy(tmp_path, array, message):
    np.save(tmp_path / "bad.npy", array)
    with pytest.raises(DataError, match=message):
        images_from_source(tmp_path / "bad.npy", 10)


def test_run_folder_source(tmp_path):
    run = train(tiny_config(tmp_path, steps=2), progress=False)
    images = images_from_source(run, 7, seed=1)
    assert images.shape == (7, 3, 16, 16) and images.dtype == torch.uint8
    assert torch.equal(images, images_from_source(run, 7, seed=1))


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    pytest.importorskip("mnist")
    root = tmp_path_factory.mktemp("eval")
    code = main(["train", "--limit", "64", "--width", "8", "--batch-size", "16", "--steps", "2",
                 "--out", str(root), "--name", "m", "--no-progress"])
    assert code == 0
    return root / "m"


def test_evaluate_command_on_a_run(mnist_run, capsys):
    assert main(["evaluate", str(mnist_run), "--n", "50", "--metrics", "fd,is"]) == 0
    out = capsys.readouterr().out
    assert "FD (mnist-classifier)" in out and "real vs real" in out and "classes covered" in out
    saved = json.loads((mnist_run / "evaluation.json").read_text())
    assert saved["n"] == 50 and saved["model"]["FD (mnist-classifier)"] > saved["real_vs_real"]["FD (mnist-classifier)"]


@pytest.mark.parametrize("args, message", [
    (["--n", "20000"], "MNIST test has 10,000 images"),
    (["--metrics", "fd,fid"], "--metrics: unknown fid"),
])
def test_evaluate_command_errors(mnist_run, capsys, args, message):
    assert main(["evaluate", str(mnist_run), *args]) == 2
    assert message in capsys.readouterr().err


def test_evaluate_empty_folder_and_wrong_shape(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(tmp_path / "empty"), "--n", "10"]) == 2
    assert "no images found" in capsys.readouterr().err
    np.save(tmp_path / "rgb.npy", np.zeros((20, 3, 28, 28), np.float32))
    assert main(["evaluate", str(tmp_path / "rgb.npy"), "--n", "10"]) == 2
    assert "needs images of shape (N, 1, 28, 28)" in capsys.readouterr().err


def test_eval_every_on_mnist_from_the_cli(tmp_path, capsys):
    pytest.importorskip("mnist")
    code = main(["train", "--limit", "64", "--width", "8", "--batch-size", "16", "--steps", "4",
                 "--eval-every", "2", "--eval-n", "40", "--out", str(tmp_path), "--name", "e", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0, err
    records = [json.loads(line) for line in (tmp_path / "e" / "evaluations.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    assert all(r["fd"] > 0 and r["kid"] > -1 and 1 <= r["is"] <= 10 for r in records)
    assert "best:" in out and (tmp_path / "e" / "best").is_dir()


def test_eval_every_on_colour_shapes_uses_the_scenes_classifier(tmp_path, capsys):
    code = main(["train", "--dataset", "shapes", "--image-size", "16", "--channels", "3", "--limit", "64",
                 "--width", "8", "--batch-size", "16", "--steps", "2", "--eval-every", "2", "--eval-n", "40",
                 "--out", str(tmp_path), "--name", "s", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    (record,) = [json.loads(line) for line in (tmp_path / "s" / "evaluations.jsonl").read_text().splitlines()]
    assert record["step"] == 2 and record["fd"] > 0 and "is" not in record  # which classes appear: no IS


def test_eval_every_rejects_image_folders_not_shaped_like_mnist(tmp_path, capsys):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    code = main(["train", "--dataset", "folder", "--data", str(folder), "--image-size", "16", "--channels", "3",
                 "--steps", "2", "--eval-every", "1", "--out", str(tmp_path), "--no-progress"])
    assert code == 2 and "--eval-every on an image folder scores it as MNIST" in capsys.readouterr().err


def test_scenes_classifier_extractor_on_shapes():
    from ganforge.data import load_shapes
    from ganforge.evaluation import EXTRACTORS
    from ganforge.metrics import frechet_distance_from_features

    extractor = EXTRACTORS.get("scenes-classifier")(torch.device("cpu"), None, None, "clean")
    assert extractor.input_shape == (3, 32, 32) and extractor.probabilities(torch.zeros(2, 3, 32, 32)) is None
    a, b = load_shapes(300, 64, seed=0).images, load_shapes(300, 64, seed=5).images
    noise = torch.randint(0, 256, (300, 3, 64, 64), dtype=torch.uint8)
    real = extractor.features(a)
    same = frechet_distance_from_features(real, extractor.features(b))
    assert real.shape == (300, 128) and same < frechet_distance_from_features(real, extractor.features(noise)) / 20
    gray = load_shapes(300, 64, channels=1, seed=0).images  # gray is repeated to RGB
    assert extractor.features(gray).shape == (300, 128)


class CountingExtractor(ModuleExtractor):
    def __init__(self):
        super().__init__(MeanPool(), "meanpool", (1, 8, 8))
        self.calls = 0

    def features(self, images):
        self.calls += 1
        return super().features(images)


def test_reference_features_are_cached(tmp_path):
    real, floor, fake = (torch.rand(40, 1, 8, 8, generator=torch.Generator().manual_seed(s)) * 2 - 1 for s in range(3))
    extractor = CountingExtractor()
    first = evaluate_images(fake, real, floor, extractor, ("fd", "kid"), cache_dir=tmp_path)
    assert extractor.calls == 3 and len(list(tmp_path.glob("meanpool-*.npz"))) == 2
    second = evaluate_images(fake, real, floor, extractor, ("fd", "kid"), cache_dir=tmp_path)
    assert extractor.calls == 4  # only the generated images again
    assert second.model == first.model and second.floor == first.floor
    with np.load(next(tmp_path.glob("meanpool-*.npz"))) as data:
        assert data["features"].shape == (40, 2) and data["cov"].shape == (2, 2)
    # Other images or other weights are other keys.
    evaluate_images(fake, real.flip(0), None, extractor, ("fd",), cache_dir=tmp_path)
    assert len(list(tmp_path.glob("meanpool-*.npz"))) == 3


def test_saved_reference_statistics(mnist_run, tmp_path, capsys):
    stats = tmp_path / "mnist-ref.npz"
    assert main(["evaluate", str(mnist_run), "--n", "40", "--metrics", "fd,is", "--save-ref", str(stats)]) == 0
    first = capsys.readouterr().out
    assert main(["evaluate", str(mnist_run), "--n", "40", "--metrics", "fd,is", "--ref", str(stats)]) == 0
    second = capsys.readouterr().out
    assert first.splitlines()[:4] == second.splitlines()[:4]  # same model and floor numbers
    assert main(["evaluate", str(mnist_run), "--n", "50", "--ref", str(stats)]) == 2
    assert "fewer than n=50" in capsys.readouterr().err
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    assert main(["evaluate", str(mnist_run), "--n", "40", "--ref", str(tmp_path / "other.npz")]) == 2
    assert "not a ganforge reference file" in capsys.readouterr().err


def test_reference_statistics_belong_to_their_extractor(tmp_path):
    from ganforge.evaluation import RealFeatures

    a, b = ModuleExtractor(MeanPool(), "meanpool"), ModuleExtractor(nn.Flatten(), "flat")
    RealFeatures(np.zeros((5, 2))).save(tmp_path / "s.npz", a)
    assert RealFeatures.load(tmp_path / "s.npz", a).reference.shape == (5, 2)
    with pytest.raises(DataError, match="made with other meanpool features than the flat extractor"):
        RealFeatures.load(tmp_path / "s.npz", b)


def test_procedural_references_are_the_training_images():
    from ganforge.data import load_shapes

    reference, floor = reference_images("shapes", 40)
    assert torch.equal(reference, load_shapes(40, 64, 3, seed=0).images)  # what --dataset shapes trains on
    assert floor.shape == (40, 3, 64, 64) and not torch.equal(floor, reference)
    small, _ = reference_images("shapes", 40, image_size=32)
    assert small.shape == (40, 3, 32, 32)


def test_emoji_reference_is_two_disjoint_seeded_halves(tmp_path, monkeypatch, capsys):
    from ganforge.data import emoji
    from tests.data.test_emoji import solid, write_package

    pictures = [(f"e{i}.png", "Objects", solid((10 * i, 255 - 10 * i, 7, 255)), {}) for i in range(23)]
    write_package(tmp_path / "node_modules" / emoji.PACKAGE, pictures)  # as if installed with npm
    monkeypatch.setattr(emoji, "npm_global_roots", lambda: [tmp_path / "node_modules"])
    reference, floor = reference_images("emoji", 11, seed=3)
    assert reference.shape == floor.shape == (11, 3, 64, 64)
    red = lambda images: images[:, 0, 0, 0].tolist()  # noqa: E731 (which picture: 10 * i)
    assert len(set(red(reference)) | set(red(floor))) == 22  # two disjoint halves of 11
    again = reference_images("emoji", 11, seed=3)
    assert torch.equal(again[0], reference) and torch.equal(again[1], floor)
    other, _ = reference_images("emoji", 11, seed=4)
    assert red(other) != red(reference) and reference_images("emoji", 11, image_size=32)[0].shape == (11, 3, 32, 32)
    with pytest.raises(DataError, match=r"^--n 12: the emoji set has 23 pictures, so two disjoint halves "
                                        r"\(reference and floor\) allow n <= 11$"):
        reference_images("emoji", 12)
    samples = tmp_path / "samples.npy"
    np.save(samples, np.stack([np.full((3, 64, 64), 20 * i, np.uint8) for i in range(12)]))
    report = ganforge.evaluate(samples, ref="emoji", n=10, extractor="scenes-classifier", metrics=("fd",))
    assert report.floor["FD (scenes-classifier)"] < report.model["FD (scenes-classifier)"]
    assert main(["evaluate", str(samples), "--ref", "emoji", "--n", "12", "--extractor", "scenes-classifier"]) == 2
    error = capsys.readouterr().err.strip()
    assert "two disjoint halves (reference and floor) allow n <= 11" in error and "\n" not in error


def test_folder_and_run_references(tmp_path, capsys):
    for i in range(6):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    reference, floor = reference_images(str(tmp_path), 3)
    assert reference.shape == (3, 1, 28, 28) and floor.shape == (3, 1, 28, 28)
    values = set(torch.cat([reference, floor]).flatten(1)[:, 0].tolist())
    assert len(values) == 6  # two disjoint halves
    reference, floor = reference_images(str(tmp_path), 4)
    assert len(reference) == 6 and floor is None  # too few for two halves: all are reference
    run = train(tiny_config(tmp_path / "r", steps=2), progress=False)
    reference, floor = reference_images(str(run), 5)
    assert reference.shape == (5, 3, 16, 16) and floor.shape == (5, 3, 16, 16)
    assert images_from_source(run / "checkpoints" / "step_00000002", 2).shape == (2, 3, 16, 16)


def test_library_evaluate_is_the_command(mnist_run, tmp_path):
    report = ganforge.evaluate(mnist_run, n=50, metrics=("fd", "is"), out=tmp_path / "e.json")
    assert main(["evaluate", str(mnist_run), "--n", "50", "--metrics", "fd,is", "--out", str(tmp_path / "c.json")]) == 0
    saved, command = (json.loads((tmp_path / name).read_text()) for name in ("e.json", "c.json"))
    assert saved == command and saved["model"] == pytest.approx(report.model) and report.n == 50
    assert "FD (mnist-classifier)" in report.model and "IS (mnist-classifier)" in report.model
    with pytest.raises(ConfigError, match="unknown extractor 'clip'"):
        ganforge.evaluate(mnist_run, n=50, extractor="clip")


def test_the_fashion_classifier_ships_with_its_report():
    from ganforge.data.fashion_mnist import DEBIAN_DIR
    from ganforge.evaluation import EXTRACTORS
    from ganforge.models.classifier import packaged_weights_path

    report = json.loads(packaged_weights_path("fashion-mnist").with_suffix(".json").read_text())
    assert report["dataset"] == "fashion-mnist" and report["test_accuracy"] > 0.9
    extractor = EXTRACTORS.get("fashion-classifier")(torch.device("cpu"), None, None, "clean")
    assert extractor.name == "fashion-classifier" and extractor.input_shape == (1, 28, 28)
    if DEBIAN_DIR.is_dir():  # the shipped weights reproduce their recorded test accuracy
        from ganforge.data import load_fashion_mnist
        from ganforge.data.transforms import to_signed

        test = load_fashion_mnist("test")
        probabilities = extractor.probabilities(to_signed(test.images))
        accuracy = float((probabilities.argmax(1) == test.labels.numpy()).mean())
        assert accuracy == pytest.approx(report["test_accuracy"], abs=1e-4)


def test_short_names_of_report_rows():
    from ganforge.evaluation.report import short_names

    rows = {"FD (mnist-classifier)": 3.0, "KID (mnist-classifier)": 1.5, "KID std": 0.2, "IS (mnist-classifier)": 9.1,
            "precision": 0.8, "recall": 0.7, "density": 0.9, "coverage": 0.6, "class entropy (max 2.303)": 2.2}
    assert short_names(rows) == {"fd": 3.0, "kid": 1.5, "is": 9.1, "precision": 0.8, "recall": 0.7, "density": 0.9,
                                 "coverage": 0.6}


@pytest.fixture
def no_sampling(monkeypatch):
    """Records (and refuses) every call that would sample or read the source's n images."""
    import sys

    calls = []

    def refuse(*args, **kwargs):
        calls.append(args)
        raise AssertionError("sampled before the checks that need no images")

    monkeypatch.setattr(sys.modules["ganforge.evaluation.evaluate"], "images_from_source", refuse)
    return calls


def test_too_few_reference_images_fail_before_any_sampling(tmp_path, no_sampling, capsys):
    (tmp_path / "ref").mkdir()
    for i in range(5):
        Image.fromarray(np.full((28, 28), 40 * i, np.uint8)).save(tmp_path / "ref" / f"{i}.png")
    np.save(tmp_path / "fake.npy", np.zeros((20, 1, 28, 28), np.float32))
    with pytest.raises(DataError, match=r"--ref .*ref: has 5 images, fewer than --n 10"):
        ganforge.evaluate(tmp_path / "fake.npy", ref=str(tmp_path / "ref"), n=10, cache=False)
    assert main(["evaluate", str(tmp_path / "fake.npy"), "--ref", str(tmp_path / "ref"), "--n", "10"]) == 2
    assert "has 5 images, fewer than --n 10" in capsys.readouterr().err
    np.save(tmp_path / "few.npy", np.zeros((4, 1, 28, 28), np.uint8))  # a .npy reference: counted from its header
    with pytest.raises(DataError, match=r"few.npy: has 4 images, fewer than --n 10"):
        ganforge.evaluate(tmp_path / "fake.npy", ref=str(tmp_path / "few.npy"), n=10, cache=False)
    with pytest.raises(DataError, match=r"few.npy: has 4 images, fewer than --n 10"):  # and a source
        ganforge.evaluate(tmp_path / "few.npy", ref=str(tmp_path / "ref"), n=10, cache=False)
    np.save(tmp_path / "many.npy", np.zeros((10_001, 1, 28, 28), np.uint8))
    with pytest.raises(DataError, match="MNIST test has 10,000 images"):
        ganforge.evaluate(tmp_path / "many.npy", ref="mnist", n=10_001, cache=False)
    assert no_sampling == []


def test_an_extractor_that_does_not_fit_is_named_before_sampling(tmp_path, no_sampling, capsys):
    """A colour run with the default (grayscale MNIST) extractor: the error names the ones that fit,
    from the run's config, before n images are sampled."""
    run = train(tiny_config(tmp_path, steps=1), progress=False)  # 3x16x16 colour shapes
    with pytest.raises(DataError) as info:
        ganforge.evaluate(run, ref="shapes", n=10, cache=False)
    message = str(info.value)
    assert message.startswith("the mnist-classifier extractor needs images of shape (N, 1, 28, 28), got "
                              "(N, 3, 16, 16) from the source: for colour images use --extractor scenes-classifier")
    assert "--extractor inception (any size" in message and "fashion-classifier" not in message
    assert "(N, 3, 32, 32) from the source" in str(pytest.raises(DataError, ganforge.evaluate, run, ref="shapes",
                                                                   n=10, image_size=32, cache=False).value)
    np.save(tmp_path / "gray.npy", np.zeros((20, 1, 28, 28), np.float32))
    assert main(["evaluate", str(tmp_path / "gray.npy"), "--ref", "shapes", "--n", "10"]) == 2
    err = capsys.readouterr().err
    assert "got (N, 3, 64, 64) from --ref shapes" in err and "--extractor inception" in err
    assert no_sampling == []


def test_the_extractor_error_on_images_names_the_ones_that_fit():
    with pytest.raises(DataError, match=r"got \(2, 3, 28, 28\): for colour images use --extractor scenes-classifier"):
        classifier_extractor(dataset="fashion-mnist").features(torch.zeros(2, 3, 28, 28))
