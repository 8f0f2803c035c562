import numpy as np
import pytest
from PIL import Image

from ganforge.cli.main import main
from tests.cli.test_cli import TINY, run_cli


@pytest.fixture(scope="module")
def app_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("apps")
    args = ["train", *TINY, "--arch", "resnet", "--out", str(tmp), "--name", "r"]
    assert main(args) == 0
    assert main(["sample", str(tmp / "r"), "-n", "2", "-o", str(tmp / "files")]) == 0
    return tmp / "r", tmp / "files" / "sample_00000.png"


def test_interpolate_writes_a_grid_and_gif(app_run, tmp_path, capsys):
    run, _ = app_run
    code, out, err = run_cli(capsys, "interpolate", run, "--steps", "5", "-o", tmp_path / "w.png",
                             "--gif", tmp_path / "w.gif")
    assert code == 0, err
    assert Image.open(tmp_path / "w.png").size == ((5 * 18 + 2) * 4, (18 + 2) * 4)
    assert Image.open(tmp_path / "w.gif").n_frames == 8  # 5 forward, 3 back
    code, _, err = run_cli(capsys, "interpolate", run, "--morph", "0,1", "-o", tmp_path / "m.png")
    assert code == 2 and "class-conditional" in err


def test_invert_inpaint_restore_from_the_cli(app_run, tmp_path, capsys):
    run, image = app_run
    code, out, err = run_cli(capsys, "invert", image, "--run", run, "-o", tmp_path / "inv", "--steps", "30",
                             "--restarts", "2")
    assert code == 0, err
    assert "PSNR" in out and np.load(tmp_path / "inv" / "latent.npy").shape == (1, 8)
    assert (tmp_path / "inv" / "reconstruction.png").is_file() and (tmp_path / "inv" / "comparison.png").is_file()

    hole = np.zeros((16, 16), dtype=np.uint8)
    hole[4:10, 4:10] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    for mask, method in ((tmp_path / "hole.png", "inversion"), ("scribble", "telea")):
        out_png = tmp_path / f"{method}.png"
        code, out, err = run_cli(capsys, "inpaint", image, "--run", run, "--mask", mask, "--method", method,
                                 "--steps", "20", "--restarts", "2", "-o", out_png)
        assert code == 0, err
        restored, original = np.asarray(Image.open(out_png)), np.asarray(Image.open(image))
        assert restored.shape == original.shape == (16, 16, 3)
        if method == "inversion":  # Poisson blending leaves the known pixels as they were
            assert np.array_equal(restored[hole == 0], original[hole == 0])
    code, out, err = run_cli(capsys, "restore", image, "--run", run, "--corruption", "blur", "--strength", "1",
                             "--steps", "10", "--restarts", "1", "-o", tmp_path / "sharp.png")
    assert code == 0, err and (tmp_path / "sharp.png").is_file()


def test_train_encoder_and_inpainter_then_use_them(app_run, tmp_path, capsys):
    run, image = app_run
    code, out, err = run_cli(capsys, "inpaint", image, "--run", run, "--mask", "center", "--method", "net",
                             "-o", tmp_path / "x.png")
    assert code == 2 and "train-inpainter" in err
    assert run_cli(capsys, "train-encoder", run, "--steps", "5", "--batch-size", "8")[0] == 0
    assert (run / "encoder.safetensors").is_file()
    code, out, _ = run_cli(capsys, "invert", image, "--run", run, "-o", tmp_path / "inv", "--steps", "2")
    assert code == 0 and "(encoder start)" in out
    assert run_cli(capsys, "train-inpainter", run, "--steps", "3", "--batch-size", "8")[0] == 0
    code, out, err = run_cli(capsys, "inpaint", image, "--run", run, "--mask", "center", "--method", "net",
                             "-o", tmp_path / "n.png")
    assert code == 0, err


def test_bad_images_and_masks_are_one_line_errors(app_run, tmp_path, capsys):
    run, image = app_run
    Image.new("RGB", (28, 28)).save(tmp_path / "big.png")
    Image.new("L", (16, 16)).save(tmp_path / "gray.png")
    Image.new("L", (8, 8), 255).save(tmp_path / "small_mask.png")
    Image.new("L", (16, 16), 0).save(tmp_path / "empty_mask.png")
    (tmp_path / "junk.png").write_text("not a png")
    cases = [
        (["invert", tmp_path / "big.png"], "is 28x28, the model needs 16x16 (--resize scales it to that)"),
        (["inpaint", tmp_path / "big.png", "--mask", "center"], "the model needs 16x16 (--resize scales it"),
        (["restore", tmp_path / "big.png", "--corruption", "noise"], "the model needs 16x16 (--resize scales it"),
        (["invert", tmp_path / "junk.png"], "cannot read image"),
        (["invert", tmp_path / "none.png"], "image file not found"),
        (["inpaint", image, "--mask", tmp_path / "small_mask.png"], "mask is 8x8, the image is 16x16"),
        (["inpaint", image, "--mask", tmp_path / "empty_mask.png"], "mask is empty"),
        (["inpaint", image, "--mask", "stars"], "one of center, boxes, scribble"),
    ]
    for args, message in cases:
        code, _, err = run_cli(capsys, *args, "--run", run)
        assert code == 2 and message in err and err.count("\n") == 1, (args, err)


def test_pictures_of_another_size_or_mode_fit_the_model_with_a_notice(app_run, tmp_path, capsys):
    """A 28 px picture for the 16 px model is resized with --resize; a grayscale one is converted to
    RGB; a mask picture of the picture's size is resized with it: each said in one line."""
    run, _ = app_run
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)).save(tmp_path / "big.png")
    Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(tmp_path / "gray.png")
    hole = np.zeros((28, 28), np.uint8)
    hole[8:20, 8:20] = 255
    Image.fromarray(hole).save(tmp_path / "hole28.png")
    fast = ["--steps", "2", "--restarts", "1"]

    code, out, err = run_cli(capsys, "invert", tmp_path / "big.png", "--run", run, "--resize", *fast,
                             "-o", tmp_path / "inv")
    assert code == 0, err
    assert f"{tmp_path / 'big.png'}: image resized from 28x28 to 16x16 for the model" in out
    assert Image.open(tmp_path / "inv" / "reconstruction.png").size == (16, 16)

    code, out, err = run_cli(capsys, "invert", tmp_path / "gray.png", "--run", run, *fast, "-o", tmp_path / "g")
    assert code == 0, err
    assert f"{tmp_path / 'gray.png'}: image converted from grayscale to RGB for the model" in out

    code, out, err = run_cli(capsys, "inpaint", tmp_path / "big.png", "--run", run, "--mask", tmp_path / "hole28.png",
                             "--resize", *fast, "-o", tmp_path / "filled.png")
    assert code == 0, err
    assert "image resized from 28x28 to 16x16" in out and "mask resized from 28x28 to 16x16 for the model" in out
    assert Image.open(tmp_path / "filled.png").size == (16, 16)

    code, out, err = run_cli(capsys, "restore", tmp_path / "big.png", "--run", run, "--corruption", "noise",
                             "--resize", *fast, "-o", tmp_path / "clean.png")
    assert code == 0, err
    assert "resized from 28x28 to 16x16" in out and Image.open(tmp_path / "clean.png").size == (16, 16)
