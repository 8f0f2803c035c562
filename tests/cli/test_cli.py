import json

import numpy as np
import pytest
from PIL import Image

from ganforge.cli.main import main


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


TINY = ["--dataset", "shapes", "--image-size", "16", "--channels", "3", "--limit", "32", "--width", "8",
        "--latent-dim", "8", "--batch-size", "8", "--steps", "4", "--log-every", "2", "--no-progress"]


@pytest.fixture
def run_dir(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", *TINY, "--out", tmp_path / "runs", "--name", "cli")
    assert code == 0, err
    assert f"run folder: {tmp_path / 'runs' / 'cli'}" in out and "samples.png" in out
    return tmp_path / "runs" / "cli"


def test_train_sample_info(run_dir, tmp_path, capsys):
    config = json.loads((run_dir / "config.json").read_text())
    assert config["data"]["image_size"] == 16 and config["train"]["steps"] == 4 and config["train"]["epochs"] is None

    code, out, _ = run_cli(capsys, "sample", run_dir, "-n", "6", "-o", tmp_path / "g.png", "--nrow", "3")
    assert code == 0 and "wrote 6 sample(s)" in out
    assert Image.open(tmp_path / "g.png").size == ((3 * 18 + 2) * 4, (2 * 18 + 2) * 4)  # 16 px upscaled x4
    assert run_cli(capsys, "sample", run_dir, "-n", "5", "-o", tmp_path / "s.npy", "--seed", "2")[0] == 0
    array = np.load(tmp_path / "s.npy")
    assert array.shape == (5, 3, 16, 16) and array.dtype == np.float32 and np.abs(array).max() <= 1
    run_cli(capsys, "sample", run_dir, "-n", "5", "-o", tmp_path / "t.npy", "--seed", "2")
    assert np.array_equal(array, np.load(tmp_path / "t.npy"))
    assert run_cli(capsys, "sample", run_dir, "-n", "3", "-o", tmp_path / "files")[0] == 0
    assert len(list((tmp_path / "files").glob("*.png"))) == 3

    code, out, _ = run_cli(capsys, "info", run_dir)
    assert code == 0 and "step:       4" in out and "3x16x16 from shapes" in out and "generator.safetensors" in out
    code, out, _ = run_cli(capsys, "info", run_dir, "--json")
    assert json.loads(out)["meta"]["step"] == 4


def test_config_file_and_resume(run_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", "--config", run_dir / "config.json", "--steps", "2",
                           "--out", tmp_path / "runs", "--name", "from-file", "--no-progress")
    assert code == 0, err
    saved = json.loads((tmp_path / "runs" / "from-file" / "config.json").read_text())
    assert saved["model"]["width"] == 8 and saved["train"]["steps"] == 2
    code, out, err = run_cli(capsys, "train", "--resume", run_dir, "--steps", "6", "--no-progress")
    assert code == 0, err
    assert json.loads((run_dir / "checkpoints" / "step_00000006" / "meta.json").read_text())["step"] == 6


@pytest.mark.parametrize("args, message", [
    (["train", "--bogus"], "No such option '--bogus'"),
    (["train", "--image-size", "30", "--steps", "1"], "data.image_size (--image-size) must be 28 or a power of two"),
    (["train", "--batch-size", "0"], "Invalid value for '--batch-size'"),
    (["train", "--loss", "wgan", "--steps", "1", "--dataset", "shapes"], "Invalid value for '--loss': 'wgan' is not one of 'hinge'"),
    (["train", "--dataset", "folder", "--steps", "1"], "data.path (--data) is required"),
    (["train", "--dataset", "folder", "--data", "/no/such/dir", "--steps", "1"], "/no/such/dir: image folder not found"),
    (["train", "--dataset", "imagenet"], "Invalid value for '--dataset'"),
    (["sample", "/no/such/run"], "'/no/such/run': no such run or checkpoint folder, and not a zoo model"),
    (["info", "."], "no checkpoints/step_* inside"),
    (["frobnicate"], "No such command 'frobnicate'"),
    (["train", "--penalty-weight", "5", "--steps", "1"], "--penalty-weight has no effect without --penalty"),
    (["train", "--eval-n", "100", "--steps", "1"], "--eval-n has no effect without --eval-every"),
    (["train", "--batch-size", "4", "--accumulate", "8", "--steps", "1"], "train.accumulate (--accumulate) (8) cannot"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, args, message):
    code, out, err = run_cli(capsys, *args)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_conditional_run_from_the_cli(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", *TINY, "--arch", "resnet", "--num-classes", "3", "--out", tmp_path,
                           "--name", "cond")
    assert code == 0, err
    run = tmp_path / "cond"
    code, out, _ = run_cli(capsys, "sample", run, "-n", "4", "--labels", "2", "-o", tmp_path / "twos.npy")
    assert code == 0
    code, out, _ = run_cli(capsys, "sample", run, "-n", "6", "-o", tmp_path / "grid.png")
    assert Image.open(tmp_path / "grid.png").size == ((3 * 18 + 2) * 4, (2 * 18 + 2) * 4)  # a column per class
    assert "3 classes (projection)" in run_cli(capsys, "info", run)[1]
    for labels, message in (("5", "classes must be in 0..2"), ("a,b", "expected class indices"),
                            ("1,2", "expected 1 or 4 labels")):
        code, _, err = run_cli(capsys, "sample", run, "-n", "4", "--labels", labels, "-o", tmp_path / "x.png")
        assert code == 2 and message in err and err.count("\n") == 1


def test_gradient_accumulation_from_the_cli(tmp_path, capsys):
    code, _, err = run_cli(capsys, "train", *TINY, "--accumulate", "4", "--out", tmp_path, "--name", "acc")
    assert code == 0, err
    assert json.loads((tmp_path / "acc" / "config.json").read_text())["train"]["accumulate"] == 4
    steps = [json.loads(line)["step"] for line in (tmp_path / "acc" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [2, 4]


def test_resume_takes_only_stop_flags(run_dir, capsys):
    code, _, err = run_cli(capsys, "train", "--resume", run_dir, "--lr", "0.1")
    assert code == 2 and "only --steps/--epochs/--minutes and --lr-decay-from may be given with it, not --lr" in err
    code, _, err = run_cli(capsys, "train", "--resume", run_dir, "--lr-decay-from", "1")  # before the run's step
    assert code == 2 and "--lr-decay-from 1 is before the run's step" in err


def test_sample_bad_output_name(run_dir, tmp_path, capsys):
    code, _, err = run_cli(capsys, "sample", run_dir, "-o", tmp_path / "x.jpg")
    assert code == 2 and "cannot tell the format" in err


def test_help_has_examples(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0 and "Examples:" in out and "train" in out and "sample" in out
    code, out, _ = run_cli(capsys, "train", "--help")
    assert code == 0 and "--resume" in out and "--minutes" in out


def test_console_script_installed():
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    beside_python = Path(sys.executable).parent / "ganforge"  # the venv's bin/, even when not on PATH
    exe = str(beside_python) if beside_python.is_file() else shutil.which("ganforge")
    if exe is None:
        pytest.skip("console script not installed (package not installed with pip)")
    result = subprocess.run([exe, "train", "--image-size", "30"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("ganforge: error:")


def test_ctrl_c_exits_130_after_saving(tmp_path, capsys, monkeypatch):
    import os
    import signal

    from ganforge.training import trainer as trainer_module

    real_step = trainer_module.train_step

    def interrupting_step(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "train_step", interrupting_step)
    code, _, err = run_cli(capsys, "train", *TINY, "--out", tmp_path, "--name", "stopped")
    assert code == 130 and "ganforge: interrupted" in err
    assert (tmp_path / "stopped" / "checkpoints" / "step_00000001" / "meta.json").is_file()


def _picture_folder(root, n, size, colour):
    rng = np.random.default_rng(0)
    root.mkdir()
    for i in range(n):
        gray = rng.integers(0, 256, (size, size), dtype=np.uint8)
        pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8) if colour else np.dstack([gray] * 3)
        Image.fromarray(pixels).save(root / f"{i}.png")
    return root


FOLDER_TINY = ["--steps", "1", "--batch-size", "4", "--width", "8", "--latent-dim", "8", "--no-progress"]


def test_train_folder_reads_the_pictures_shape(tmp_path, capsys):
    """48 px colour pictures: 3 channels at 64 px (the resolution nearest 48 in ratio), hence the colour default,
    said in one line; today the run silently became 1x28x28 grayscale DCGAN."""
    data = _picture_folder(tmp_path / "colour48", 6, 48, colour=True)
    code, out, err = run_cli(capsys, "train", "--dataset", "folder", "--data", data, *FOLDER_TINY,
                             "--out", tmp_path / "runs", "--name", "c")
    assert code == 0, err
    config = json.loads((tmp_path / "runs" / "c" / "config.json").read_text())
    model = config["model"]
    assert (config["data"]["channels"], config["data"]["image_size"], model["arch"], model["spectral_norm"]) == (
        3, 64, "dcgan", True)
    line = next(line for line in out.splitlines() if line.startswith(str(data)))
    assert "colour pictures, median short side 48 px (all 6 sampled) -> --channels 3 --image-size 64" in line
    assert "resized and centre-cropped to 64x64" in line and "--preset dcgan-sn" in out


def test_train_folder_flags_win_and_gray_rgb_files_are_grayscale(tmp_path, capsys):
    data = _picture_folder(tmp_path / "gray30", 4, 30, colour=False)  # RGB files with R = G = B
    code, out, err = run_cli(capsys, "train", "--dataset", "folder", "--data", data, *FOLDER_TINY,
                             "--out", tmp_path / "runs", "--name", "g")
    assert code == 0, err
    config = json.loads((tmp_path / "runs" / "g" / "config.json").read_text())
    assert (config["data"]["channels"], config["data"]["image_size"], config["model"]["arch"]) == (1, 32, "dcgan")
    assert "grayscale pictures, median short side 30 px (all 4 sampled) -> --channels 1 --image-size 32" in out

    code, out, err = run_cli(capsys, "train", "--dataset", "folder", "--data", data, "--channels", "3", *FOLDER_TINY,
                             "--image-size", "16", "--out", tmp_path / "runs", "--name", "f")
    assert code == 0, err
    config = json.loads((tmp_path / "runs" / "f" / "config.json").read_text())
    assert (config["data"]["channels"], config["data"]["image_size"]) == (3, 16)
    assert "sampled" not in out  # nothing was picked, nothing said


def test_train_image_size_48_names_the_sizes_that_work(capsys):
    code, _, err = run_cli(capsys, "train", "--image-size", "48", "--steps", "1")
    assert code == 2 and "must be 28 or a power of two from 16 to 1024, got 48 (the nearest: 32, 64" in err
