import dataclasses
import math

import pytest
import torch

from ganforge.apps.semi_supervised import (
    IndexStream,
    Settings,
    feature_matching_loss,
    labelled_subset,
    top_confusions,
    supervised_loss,
    train_semi_supervised,
    unsupervised_loss,
)
from ganforge.device import resolve_precision
from ganforge.errors import CheckpointError, InputError


def test_k_plus_one_losses_by_hand():
    k = 10
    zeros = torch.zeros(1, k)
    # Z = 10: p(real) = 10/11. -log(10/11) on the real side, -log(1/11) on the fake side.
    assert float(unsupervised_loss(zeros, zeros)) == pytest.approx(math.log(11 / 10) + math.log(11), rel=1e-6)
    # Confident real logits and very negative fake logits: both terms vanish.
    assert float(unsupervised_loss(torch.full((2, k), 20.0), torch.full((2, k), -20.0))) < 1e-6
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    expected = -(2.0 - math.log(math.exp(2.0) + 2.0))
    assert float(supervised_loss(logits, torch.tensor([0]))) == pytest.approx(expected, rel=1e-6)
    # Means over the batch, not sums: rows with Z = 10 and Z = 1 (logits log 10 and 0 in one class).
    two = torch.tensor([[math.log(10.0), -50.0], [0.0, -50.0]])
    expected = (math.log(11 / 10) + math.log(2)) / 2 + (math.log(11) + math.log(2)) / 2
    assert float(unsupervised_loss(two, two)) == pytest.approx(expected, rel=1e-5)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    expected = -(2.0 - math.log(math.exp(2.0) + 2.0) + 1.0 - math.log(math.e + 2.0)) / 2
    assert float(supervised_loss(logits, torch.tensor([0, 1]))) == pytest.approx(expected, rel=1e-6)
    real, fake = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    # means (2, 3) vs (0, 1): squared differences 4 and 4, averaged -> 4.
    assert float(feature_matching_loss(real, fake)) == pytest.approx(4.0)


def test_labelled_subset_is_balanced_and_checked():
    labels = torch.tensor([0, 1, 2] * 5)
    picked = labelled_subset(labels, 2, 3, seed=0)
    assert sorted(labels[picked].tolist()) == [0, 0, 1, 1, 2, 2]
    with pytest.raises(InputError, match="class 0 has only 5 examples"):
        labelled_subset(labels, 6, 3, seed=0)


def _toy_digits(n: int, seed: int):
    """Flat 8x8 'images': class c lights up row c (of 4) plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = torch.rand(n, 8, 8, generator=g) * 0.3
    for c in range(4):
        images[labels == c, 2 * c:2 * c + 2] += 0.7
    return images.flatten(1).clamp(0, 1), labels


TINY = Settings(labels_per_class=3, epochs=2, batch_size=40, lr=1e-3, precision="fp32")


def test_tiny_end_to_end_run_learns():
    x, y = _toy_digits(400, 0)
    xt, yt = _toy_digits(200, 1)
    result = train_semi_supervised(x, y, xt, yt, TINY, num_classes=4, seed=0)
    assert result.test_error < 0.25 and result.seconds > 0 and result.steps == 20
    assert [h["step"] for h in result.history] == list(range(2, 21, 2))
    assert result.test_error == result.history[-1]["test_error"]  # the last evaluation, not the best
    predicted = result.classifier(xt)[0].argmax(1)
    assert result.test_error == pytest.approx(float((predicted != yt).float().mean()))
    assert all(0 <= h["raw_test_error"] <= 1 for h in result.history)
    with pytest.raises(InputError, match="flat"):
        train_semi_supervised(x.view(-1, 8, 8), y, xt, yt, num_classes=4)
    with pytest.raises(InputError, match="--labelled-batches must be cycle or random, got 'sorted'"):
        Settings(labelled_batches="sorted")
    with pytest.raises(InputError, match=r"--average must be in \[0, 1\), got 1.0"):
        Settings(average=1.0)


def test_the_test_digits_never_change_training():
    x, y = _toy_digits(200, 0)
    settings = Settings(labels_per_class=3, epochs=1, batch_size=40, precision="fp32")
    runs = [train_semi_supervised(x, y, *_toy_digits(n, seed), settings, num_classes=4, seed=1)
            for n, seed in ((50, 1), (80, 2))]
    for a, b in zip(*(run.classifier.state_dict().values() for run in runs)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [h["step"] for h in runs[0].history] == [h["step"] for h in runs[1].history]


def test_a_saved_run_names_the_precision_it_ran_in(tmp_path):
    x, y = _toy_digits(200, 0)
    settings = Settings(labels_per_class=3, epochs=1, batch_size=40, precision="auto")
    train_semi_supervised(x, y, *_toy_digits(50, 1), settings, num_classes=4, checkpoint=tmp_path / "run.pt", until=1)
    saved = torch.load(tmp_path / "run.pt", weights_only=True)["run"]["settings"]["precision"]
    assert saved == resolve_precision("auto", torch.device("cpu")) and saved in ("fp32", "bf16")


def test_batch_streams_cycle_through_permutations_and_resume_exactly():
    stream = IndexStream(10, 4, torch.Generator().manual_seed(0))
    first = torch.cat([stream.next() for _ in range(5)])  # 20 indices: two whole passes
    assert sorted(first[:10].tolist()) == list(range(10)) == sorted(first[10:].tolist())
    saved = stream.state_dict()
    ahead = [stream.next() for _ in range(3)]
    again = IndexStream(10, 4, torch.Generator())
    again.load_state_dict(saved)
    assert all(torch.equal(a, b) for a, b in zip(ahead, [again.next() for _ in range(3)]))
    drawn = IndexStream(3, 50, torch.Generator().manual_seed(0), mode="random").next()
    assert len(drawn) == 50 and set(drawn.tolist()) == {0, 1, 2}


PAPER_CODE = {"adam_eps_root": 1e-8, "direction_init": 0.1, "generator_init": "paper"}


@pytest.mark.parametrize("gan,paper", [(True, False), (False, False), (True, True)])
def test_a_run_stopped_and_resumed_equals_one_run(tmp_path, gan, paper):
    x, y = _toy_digits(200, 0)
    xt, yt = _toy_digits(50, 1)
    settings = Settings(labels_per_class=3, epochs=1, batch_size=40, precision="fp32", **(PAPER_CODE if paper else {}))
    whole = train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=3)
    state = tmp_path / "run.pt"
    part = train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=3, checkpoint=state, until=2)
    assert part.steps == 2 and state.is_file()
    rest = train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=3, checkpoint=state)
    assert rest.steps == 5 and rest.seconds > part.seconds
    for a, b in zip(whole.classifier.state_dict().values(), rest.classifier.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [h["step"] for h in rest.history] == [h["step"] for h in whole.history]
    again = train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=3, checkpoint=state)
    assert again.steps == 5 and again.history == rest.history  # a finished run: loaded, not trained again
    for a, b in zip(again.classifier.state_dict().values(), rest.classifier.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(CheckpointError, match="saved by another run"):
        train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=4, checkpoint=state)
    saved = torch.load(state, weights_only=True)
    assert set(saved) >= {"torch_rng", "streams", "opt_d", "ema"} and "cuda_rng" not in saved  # a CPU run
    if not paper:  # a state saved before these settings existed resumes with the values it ran with, and only so
        saved = torch.load(state, weights_only=True)
        for name in PAPER_CODE:
            del saved["run"]["settings"][name]
        torch.save(saved, state)
        resumed = train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=3, checkpoint=state)
        assert resumed.steps == 5
        with pytest.raises(CheckpointError, match="saved by another run"):
            train_semi_supervised(x, y, xt, yt, dataclasses.replace(settings, **PAPER_CODE), gan=gan,
                                  num_classes=4, seed=3, checkpoint=state)
    state.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable semi-supervised state"):
        train_semi_supervised(x, y, xt, yt, settings, gan=gan, num_classes=4, seed=3, checkpoint=state)


def test_a_given_labelled_set_replaces_the_seeds_draw_and_is_checked(tmp_path):
    x, y = _toy_digits(200, 0)
    xt, yt = _toy_digits(50, 1)
    settings = Settings(labels_per_class=3, epochs=1, batch_size=40, precision="fp32")
    drawn = train_semi_supervised(x, y, xt, yt, settings, gan=False, num_classes=4, seed=2)
    same = labelled_subset(y, 3, 4, seed=2)
    given = train_semi_supervised(x, y, xt, yt, settings, gan=False, num_classes=4, seed=2, labelled=same)
    for a, b in zip(drawn.classifier.state_dict().values(), given.classifier.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    swapped = same.clone()
    swapped[0] = next(i for i in range(200) if y[i] == y[same[0]] and i not in same.tolist())
    state = tmp_path / "run.pt"
    train_semi_supervised(x, y, xt, yt, settings, gan=False, num_classes=4, seed=2, labelled=swapped, checkpoint=state)
    with pytest.raises(CheckpointError, match="saved by another run"):  # another labelled set is another run
        train_semi_supervised(x, y, xt, yt, settings, gan=False, num_classes=4, seed=2, labelled=same, checkpoint=state)
    for bad, message in (([3, 3], "distinct"), ([0, 200], r"in 0\.\.199"), ([], "non-empty"), ([0.5], "integers")):
        with pytest.raises(InputError, match=message):
            train_semi_supervised(x, y, xt, yt, settings, gan=False, num_classes=4, labelled=torch.tensor(bad))


def test_top_confusions_counts_mistakes_by_pair_largest_first():
    labels = torch.tensor([7, 7, 7, 7, 3, 3, 1, 0, 0])
    predicted = torch.tensor([3, 3, 3, 7, 5, 3, 1, 1, 2])
    assert top_confusions(predicted, labels, 10) == [(7, 3, 3), (0, 1, 1), (0, 2, 1)]
    assert top_confusions(predicted, labels, 10, count=10)[-1] == (3, 5, 1)
    assert top_confusions(labels, labels, 10) == []
