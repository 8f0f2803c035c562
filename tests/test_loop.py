import os
import signal

import pytest
import torch

from ganforge.loop import Hook, Loop, Window, adam


def test_records_average_each_window_and_the_last_partial_one():
    history = Loop(steps=7, log_every=3).run(lambda i: {"x": torch.tensor(float(i)), "y": 2.0})
    assert [r["step"] for r in history] == [3, 6, 7]
    assert [r["x"] for r in history] == [1.0, 4.0, 6.0]  # means of 0..2, 3..5, 6
    assert all(r["y"] == 2.0 for r in history) and "time" not in history[0]


def test_resumes_at_start_and_reports_a_rate():
    seen = []
    history = Loop(steps=5, start=3, log_every=10, items_per_step=8, items_name="images_per_s",
                   timestamps=True).run(lambda i: seen.append(i) or {})
    assert seen == [3, 4] and history[0]["step"] == 5
    assert history[0]["images_per_s"] > 0 and "time" in history[0]


def test_hooks_run_every_n_steps_in_order_then_at_end():
    calls = []
    loop = Loop(steps=5, hooks=[Hook(2, lambda s: calls.append(("a", s))),
                                Hook(2, lambda s: calls.append(("b", s)), at_end=True)],
                on_end=lambda s: calls.append(("end", s)))
    loop.run(lambda i: {})
    assert calls == [("a", 2), ("b", 2), ("a", 4), ("b", 4), ("b", 5), ("end", 5)]


def test_on_log_sees_the_window_before_it_closes():
    windows = []
    loop = Loop(steps=4, log_every=2)
    loop.on_log = lambda record: windows.append((loop.window.start, loop.window.finite(), record["step"]))
    values = iter([1.0, float("nan"), 1.0, 1.0])
    loop.run(lambda i: {"loss": torch.tensor(next(values))})
    assert windows == [(0, False, 2), (2, True, 4)]


def test_a_time_budget_stops_the_loop():
    steps = Loop(minutes=0.0).run(lambda i: {})
    assert steps == []  # the deadline has passed before the first step
    with pytest.raises(ValueError, match="needs steps or minutes"):
        Loop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_finishes_the_step_runs_the_end_hooks_and_raises(sig):
    before = signal.getsignal(sig)
    done, ended = [], []

    def step(i):
        if i == 2:
            os.kill(os.getpid(), sig)  # arrives mid-step: the step still completes
        done.append(i)
        return {}

    with pytest.raises(KeyboardInterrupt):
        Loop(steps=100, on_end=ended.append).run(step)
    assert done == [0, 1, 2] and ended == [3]
    assert signal.getsignal(sig) == before  # handlers restored


def test_window_sums_without_syncing_and_adam_is_multi_tensor():
    window = Window(0)
    window.add({"a": torch.tensor(1.0)}, items=4)
    window.add({"a": torch.tensor(3.0)}, items=4)
    assert window.summary(2)["a"] == 2.0 and window.items == 8 and window.finite()
    optimiser = adam([torch.nn.Parameter(torch.zeros(2))], 0.1, (0.5, 0.99))
    assert optimiser.defaults["foreach"] is True and optimiser.defaults["betas"] == (0.5, 0.99)
