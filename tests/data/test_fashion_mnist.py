import numpy as np
import pytest

from ganforge.data import fashion_mnist
from ganforge.data.fashion_mnist import CLASSES, DEBIAN_DIR, load_fashion_mnist
from ganforge.data.mnist import write_idx
from ganforge.errors import DataError
from ganforge.training import train
from tests.conftest import tiny_config


def write_split_files(folder, n_train=60_010, n_test=12, gz=True):
    """Fashion-MNIST-shaped IDX files: training images numbered by their first pixel."""
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    train_images = np.zeros((n_train, 28, 28), np.uint8)
    train_images[:, 0, 0] = np.arange(n_train) % 251
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", train_images)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", np.arange(n_train) % 10)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", np.full((n_test, 28, 28), 7, np.uint8))
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", np.arange(n_test) % 10)
    return folder


def test_splits_labels_and_classes_from_a_folder(tmp_path):
    root = write_split_files(tmp_path / "f")
    train_set = load_fashion_mnist("train", root, limit=100)
    valid = load_fashion_mnist("valid", root)
    test = load_fashion_mnist("test", root, image_size=32)
    assert len(train_set) == 100 and len(valid) == 10_010 and len(test) == 12
    assert int(valid.images[0, 0, 0, 0]) == 50_000 % 251  # valid starts after the first 50,000
    assert test.images.shape == (12, 1, 32, 32) and train_set.classes == CLASSES and len(CLASSES) == 10
    assert train_set.labels[:12].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]


def test_missing_files_and_package_are_one_line_errors(tmp_path, monkeypatch):
    with pytest.raises(DataError, match="missing Fashion-MNIST file train-images-idx3-ubyte"):
        load_fashion_mnist("train", tmp_path)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "absent")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("train")


def test_the_package_location_is_checked_by_content(tmp_path, monkeypatch):
    fake = write_split_files(tmp_path / "pkg", n_train=20, n_test=4)
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", fake)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: content differs .*SHA-256"):
        load_fashion_mnist("train")


@pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="needs the Debian package dataset-fashion-mnist")
def test_the_debian_package():
    test = load_fashion_mnist("test")
    assert len(test) == 10_000 and np.bincount(test.labels.numpy()).tolist() == [1000] * 10


def test_trains_from_the_cli_dataset_name(tmp_path):
    root = write_split_files(tmp_path / "f", n_train=80, n_test=4)
    config = tiny_config(tmp_path, steps=2)
    config.data.dataset, config.data.path, config.data.image_size, config.data.channels = "fashion-mnist", str(root), 28, 1
    config.data.limit = 64
    run = train(config.validate(), progress=False)
    assert (run / "checkpoints" / "step_00000002").is_dir()
