"""The recognition commands end to end on tiny settings: semi-supervised, segment, augment."""

import re
import statistics

import numpy as np
import pytest
from PIL import Image

from ganforge.io.pictures import save_image
from tests.cli.test_cli import TINY, run_cli


def test_semi_supervised_runs_both_rows_and_rejects_impossible_label_counts(tmp_path, capsys):
    pytest.importorskip("mnist")
    curves = tmp_path / "curves.png"
    code, out, err = run_cli(capsys, "semi-supervised", "--labels-per-class", "2", "--epochs", "1", "--limit", "300",
                             "--test-limit", "50", "--seeds", "0,1", "--plot", curves)
    assert code == 0, err
    assert f"wrote {curves}" in out and Image.open(curves).size == (800, 500)
    assert out.count("K+1 GAN (feature matching): test error") == 2 and out.count("labelled only: test error") == 2
    assert "test error by update: 1: " in out and ", 3: " in out  # 300 digits / batch 100 = 3 updates
    assert "20 labels, 1 epochs of 300 digits" in out and "ms each" in out
    assert "  seed 1, labelled only: update 3: test error " in out  # said as the run goes
    for row in ("K+1 GAN (feature matching)", "labelled only"):  # two seeds: mean ± sample std of the printed
        per_seed = [float(e) for e in re.findall(rf"seed \d, {re.escape(row)}: test error (\d+\.\d+)%", out)]
        mean, std = map(float, re.search(rf"{re.escape(row)} +test error (\d+\.\d+)% ± (\d+\.\d+)", out).groups())
        assert len(per_seed) == 2 and mean == pytest.approx(statistics.mean(per_seed), abs=0.011)
        assert std == pytest.approx(statistics.stdev(per_seed), abs=0.011)
    assert "most confused: " in out
    code, _, err = run_cli(capsys, "semi-supervised", "--labels-per-class", "100", "--limit", "300")
    assert code == 2 and "--labels-per-class 100: class" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(capsys, "semi-supervised", "--labels-per-class", "2", "--epochs", "1", "--limit", "300",
                             "--test-limit", "50", "--no-gan")
    assert code == 0, err
    assert "K+1 GAN" not in out and out.count("labelled only: test error") == 1
    assert " ± " not in out  # one seed: no spread to claim
    chosen = tmp_path / "labelled.json"
    chosen.write_text("[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]")
    code, out, err = run_cli(capsys, "semi-supervised", "--epochs", "1", "--limit", "300", "--test-limit", "50",
                             "--no-gan", "--labelled", str(chosen))
    assert code == 0, err
    assert "12 labels, 1 epochs of 300 digits" in out
    chosen.write_text('{"0": 1}')
    code, _, err = run_cli(capsys, "semi-supervised", "--labelled", str(chosen))
    assert code == 2 and "labelled.json: expected a JSON list of integers" in err and len(err.strip().splitlines()) == 1
    chosen.write_text("[0, 0]")
    code, _, err = run_cli(capsys, "semi-supervised", "--limit", "300", "--labelled", str(chosen))
    assert code == 2 and "labelled.json: " in err and "distinct" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, "semi-supervised", "--no-gan", "--no-baseline")
    assert code == 2 and "--no-gan with --no-baseline" in err
    code, _, err = run_cli(capsys, "semi-supervised", "--seeds", "one")
    assert code == 2 and "--seeds" in err


def test_segment_trains_both_variants_saves_and_predicts(tmp_path, capsys):
    model, picture = tmp_path / "seg.safetensors", tmp_path / "rows.png"
    code, out, err = run_cli(capsys, "segment", "--size", "48", "--train-scenes", "16", "--test-scenes", "4",
                             "--steps", "2", "--batch-size", "4", "--width", "8", "--ablation", "--model", model,
                             "-o", picture)
    assert code == 0, err
    assert "cross-entropy + adversarial" in out and "cross-entropy only" in out and out.count("mIoU") == 2
    assert model.is_file() and Image.open(picture).size == ((3 * 50 + 2) * 2, (4 * 50 + 2) * 2)
    from ganforge.data.scenes import compose_scenes
    from tests.data.test_scenes import glyphs

    scene = compose_scenes(*glyphs(), n=1, size=48, seed=3).images.float() / 127.5 - 1
    save_image(scene, tmp_path / "scene.png")
    code, out, err = run_cli(capsys, "segment", "--size", "48", "--predict", tmp_path / "scene.png", "--model", model,
                             "-o", tmp_path / "labels.png")
    assert code == 0, err
    assert "classes present" in out and Image.open(tmp_path / "labels.png").size == (48, 48)
    code, out, err = run_cli(capsys, "segment", "--size", "48", "--predict", tmp_path / "scene.png", "--model", model)
    assert code == 0, err
    assert Image.open(tmp_path / "scene_labels.png").size == (48, 48)  # without -o: beside the input
    code, _, err = run_cli(capsys, "segment", "--size", "64", "--predict", tmp_path / "scene.png", "--model", model)
    assert code == 2 and "scene is 48x48, the model needs 64x64 (--resize scales it to that)" in err
    code, out, err = run_cli(capsys, "segment", "--size", "64", "--predict", tmp_path / "scene.png", "--model", model,
                             "--resize", "-o", tmp_path / "labels64.png")
    assert code == 0, err
    assert f"{tmp_path / 'scene.png'}: scene resized from 48x48 to 64x64 for the model" in out
    assert Image.open(tmp_path / "labels64.png").size == (64, 64)
    Image.open(tmp_path / "scene.png").convert("L").save(tmp_path / "gray.png")
    code, out, err = run_cli(capsys, "segment", "--size", "48", "--predict", tmp_path / "gray.png", "--model", model)
    assert code == 0, err
    assert "scene converted from grayscale to RGB for the model" in out
    code, _, err = run_cli(capsys, "segment", "--size", "48", "--depth", "5", "--steps", "1", "--train-scenes", "2",
                           "--test-scenes", "1")
    assert code == 2 and "--depth 5" in err


def test_segment_predicts_at_the_images_own_size_without_size(tmp_path, capsys):
    """README trains at --size 48 and predicts without --size: the fully convolutional U-Net takes
    the scene at its own size (it used to expect the training default, 64). Sizes it cannot take
    are one line naming --size and --resize."""
    model = tmp_path / "seg.safetensors"
    code, _, err = run_cli(capsys, "segment", "--size", "48", "--train-scenes", "4", "--test-scenes", "1",
                           "--steps", "1", "--batch-size", "2", "--width", "8", "--model", model)
    assert code == 0, err
    Image.fromarray(np.full((48, 48, 3), 20, np.uint8)).save(tmp_path / "scene.png")
    code, out, err = run_cli(capsys, "segment", "--predict", tmp_path / "scene.png", "--model", model)
    assert code == 0, err
    assert Image.open(tmp_path / "scene_labels.png").size == (48, 48) and "resized" not in out
    Image.fromarray(np.full((96, 96, 3), 20, np.uint8)).save(tmp_path / "big.png")  # a multiple of 16 too
    code, out, err = run_cli(capsys, "segment", "--predict", tmp_path / "big.png", "--model", model)
    assert code == 0, err
    assert Image.open(tmp_path / "big_labels.png").size == (96, 96)
    for name, shape in (("odd.png", (50, 50, 3)), ("wide.png", (48, 64, 3))):
        Image.fromarray(np.zeros(shape, np.uint8)).save(tmp_path / name)
        code, _, err = run_cli(capsys, "segment", "--predict", tmp_path / name, "--model", model)
        h, w = shape[:2]
        assert code == 2 and f"scene is {w}x{h}; the net {model} halves it 4 times" in err
        assert "divisible by 16: pass --size N (a multiple of 16) and --resize" in err and len(err.splitlines()) == 1
    code, _, err = run_cli(capsys, "segment", "--size", "40", "--predict", tmp_path / "scene.png", "--model", model,
                           "--resize")
    assert code == 2 and "--size" in err and "needs a multiple of 16" in err
    (tmp_path / "text.png").write_text("not a picture")
    code, _, err = run_cli(capsys, "segment", "--predict", tmp_path / "text.png", "--model", model)
    assert code == 2 and "text.png: cannot read scene (cannot identify image file" in err and len(err.splitlines()) == 1


def test_segment_l1_loss_is_the_pix2pix_variant(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "segment", "--size", "48", "--train-scenes", "8", "--test-scenes", "2",
                             "--steps", "1", "--batch-size", "4", "--width", "8", "--loss", "l1", "--no-adversarial")
    assert code == 0, err
    assert "L1 only" in out and "adversarial" not in out.split("steps")[1]
    assert list(tmp_path.iterdir()) == []  # no picture unless -o asks for one


def test_augment_needs_a_conditional_run(tmp_path, capsys):
    pytest.importorskip("mnist")
    code, _, err = run_cli(capsys, "train", "--dataset", "mnist", "--limit", "64", "--arch", "resnet", "--width", "8",
                           "--latent-dim", "8", "--num-classes", "10", "--batch-size", "16", "--steps", "2",
                           "--no-progress", "--out", tmp_path, "--name", "cond")
    assert code == 0, err
    code, out, err = run_cli(capsys, "augment", tmp_path / "cond", "--per-class", "2", "--synthetic-per-class", "2",
                             "--steps", "2", "--batch-size", "10", "--test-limit", "200", "--seeds", "0")
    assert code == 0, err
    assert "20 real -> test error" in out and "+ 20 generated" in out and "2 real per class:" in out
    code, out, err = run_cli(capsys, "augment", tmp_path / "cond", "--per-class", "1,2", "--synthetic-ratio", "3",
                             "--steps", "1", "--batch-size", "10", "--test-limit", "50", "--seeds", "0,1")
    assert code == 0, err
    assert "1 per class, seed 1: 10 real" in out and "+ 30 generated" in out and "+ 60 generated" in out
    assert "   2 real per class:" in out and "+ 6 generated per class" in out and " ± " in out
    code, _, err = run_cli(capsys, "augment", tmp_path / "cond", "--synthetic-ratio", "3", "--synthetic-per-class", "2")
    assert code == 2 and "not both" in err
    code, _, err = run_cli(capsys, "augment", tmp_path / "cond", "--per-class", "10,x")
    assert code == 2 and "--per-class" in err
    code, _, err = run_cli(capsys, "train", *TINY, "--out", tmp_path, "--name", "plain")
    assert code == 0, err
    code, _, err = run_cli(capsys, "augment", tmp_path / "plain")
    assert code == 2 and "class-conditional" in err
    code, _, err = run_cli(capsys, "augment", tmp_path / "cond", "--per-class", "2")
    assert code == 2 and "--per-class 2" in err and "--batch-size 64" in err
    code, _, err = run_cli(capsys, "augment", tmp_path / "cond", "--seeds", "0;1")
    assert code == 2 and "--seeds" in err
