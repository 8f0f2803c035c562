import copy
import os
import signal

import pytest
import torch

from ganforge.loop import Hook, Loop, RootEpsAdam, Window, adam, linear_decay, set_lr


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


def test_root_eps_adam_is_torch_adam_at_zero_and_damps_tiny_gradients_otherwise():
    torch.manual_seed(0)
    start = torch.randn(5, 3)
    ours, theirs = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    mine = RootEpsAdam([ours], 0.01, (0.5, 0.999), eps=1e-8, eps_root=0.0)
    reference = torch.optim.Adam([theirs], 0.01, (0.5, 0.999), eps=1e-8)
    for _ in range(5):  # the same gradients each step
        gradient = torch.randn(5, 3)
        for p, opt in ((ours, mine), (theirs, reference)):
            p.grad = gradient.clone()
            opt.step()
    torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=1e-6, atol=1e-7)
    # First step from rest: m_hat = g, v_hat = g^2, so p1 = p0 - lr * g / sqrt(g^2 + eps_root).
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([1e-5, -1e-2, 0.0])
    RootEpsAdam([p], 0.003, (0.5, 0.999)).step()  # improved-gan's eps_root 1e-8, eps 0
    expected = -0.003 * torch.tensor([1e-5 / (1e-10 + 1e-8) ** 0.5, -1e-2 / (1e-4 + 1e-8) ** 0.5, 0.0])
    torch.testing.assert_close(p.detach(), expected, rtol=1e-5, atol=1e-12)
    assert abs(float(p[0])) < 0.1 * 0.003  # torch's Adam would step the full 0.003
    with pytest.raises(ValueError, match="eps_root"):
        RootEpsAdam([p], 0.003, eps_root=-1)


def test_root_eps_adam_state_round_trips():
    p, q = torch.nn.Parameter(torch.ones(4)), torch.nn.Parameter(torch.ones(4))
    first, second = RootEpsAdam([p], 0.1), RootEpsAdam([q], 0.1)
    p.grad = torch.tensor([1.0, -2.0, 3.0, 0.5])
    first.step()
    second.load_state_dict(copy.deepcopy(first.state_dict()))  # as from a file: no shared tensors
    with torch.no_grad():
        q.copy_(p)
    for param, opt in ((p, first), (q, second)):
        param.grad = torch.tensor([0.5, 0.5, -1.0, 2.0])
        opt.step()
    assert torch.equal(p, q)


def test_linear_decay_by_hand():
    # start 6, total 10: steps 0-5 whole rate, then 4/4, 3/4, 2/4, 1/4 (step 9, the last), 0 past it.
    assert [linear_decay(s, 6, 10) for s in range(11)] == [1, 1, 1, 1, 1, 1, 1.0, 0.75, 0.5, 0.25, 0.0]
    assert linear_decay(0, 0, 1) == 1.0
    for start, total in ((5, 5), (-1, 5), (6, 5)):
        with pytest.raises(ValueError, match="0 <= start < total"):
            linear_decay(0, start, total)


def test_set_lr_sets_every_group():
    a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    opt = adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    set_lr(opt, 0.02)
    assert [g["lr"] for g in opt.param_groups] == [0.02, 0.02]
