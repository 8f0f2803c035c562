"""Run by tests/training/test_distributed.py, under torchrun or alone: trains the tiny config
(a BN-free, noise-free StyleGAN-lite G and ResNet D, so every rank computes exactly what one
process does on its slice) and saves this rank's weights.

    python tests/training/ddp_worker.py OUT STEPS [RESUME_RUN | ACCUMULATE]

A whole number as the third argument is the gradient accumulation of a new run.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests.conftest

import torch  # noqa: E402

from ganforge.io import checkpoint as ckpt  # noqa: E402
from ganforge.training import Trainer  # noqa: E402
from tests.conftest import tiny_config  # noqa: E402

MODEL = {"arch": "stylegan", "noise_inputs": False}


def main() -> None:
    out, steps = Path(sys.argv[1]), int(sys.argv[2])
    accumulate = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 1
    if len(sys.argv) > 3 and accumulate == 1 and not sys.argv[3].isdigit():  # resume that run to STEPS
        checkpoint = ckpt.find_checkpoint(sys.argv[3])
        config = ckpt.read_config(checkpoint)
        config.train.steps = steps
        trainer = Trainer(config, checkpoint.parent.parent, progress=False)
        trainer.load_checkpoint(checkpoint)
    else:
        config = tiny_config(out, MODEL, steps=steps, batch_size=8, checkpoint_every=2, log_every=1,
                             sample_every=100, channels_last=False, accumulate=accumulate)
        trainer = Trainer(config, out / "run", progress=False)
    try:
        trainer.fit()
        rank = int(os.environ.get("RANK", "0"))
        # Parameters only: buffers (StyleGAN's w_avg) follow each rank's own slice by design.
        state = {f"{name}.{key}": value.detach().cpu().clone() for name, module in trainer.modules().items()
                 for key, value in module.named_parameters()}
        state["world_size"] = torch.tensor(trainer.dist.world_size)
        torch.save(state, out / f"rank{rank}.pt")
    finally:
        trainer.close()


if __name__ == "__main__":
    main()
