"""PyTorch -> nn for batch norm: two networks trained 3 steps, with every state before and after.

Made with PyTorch 2.15.0 (CPU), safetensors 0.8.0. Rerun from the repository root with

    /work/torchenv/bin/python tests/pytorch/batch_norm/make_fixture.py

For each model, `dense` (BatchNorm1d) and `conv` (BatchNorm2d) as built in `models()` below,
it writes next to this script:

- <model>_initial.safetensors: the state_dict before training (float32 tensors, and the int64
  scalar `num_batches_tracked` = 0);
- <model>_batches.safetensors: the three training batches `x0`, `x1`, `x2` (float32) and their
  class labels `y0`, `y1`, `y2` (int64);
- <model>_after_3_steps.safetensors: the state_dict after 3 steps of
  `torch.optim.SGD(lr=0.1)` on `nn.CrossEntropyLoss()` in train mode, one step per batch:
  weights, biases, `running_mean`, `running_var` (unbiased batch variances) and
  `num_batches_tracked` = 3;
- <model>_outputs.safetensors: the loss of each step, `losses` [3] (before that step's
  update), and after training, in eval mode (running statistics), `eval_output` of `eval_input`.

The tests that read them are in ./mod.rs, run by tests/interop.rs.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

HERE = Path(__file__).resolve().parent
STEPS = 3


def models():
    """(name, model, shape of one sample, batch size), each model seeded."""
    torch.manual_seed(0)
    dense = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    yield "dense", dense, (6,), 8
    torch.manual_seed(1)
    conv = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 3),
    )
    yield "conv", conv, (2, 8, 8), 4


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def main():
    torch.set_num_threads(1)
    for name, model, sample, batch in models():
        data = torch.Generator().manual_seed(100)
        batches = {}
        for step in range(STEPS):
            # Shifted and scaled so the batch statistics are far from the initial (0, 1).
            batches[f"x{step}"] = 2.0 * torch.randn(batch, *sample, generator=data) + 0.5
            batches[f"y{step}"] = torch.randint(0, 3, (batch,), generator=data)
        save_file(state(model), HERE / f"{name}_initial.safetensors")
        save_file(batches, HERE / f"{name}_batches.safetensors")

        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        criterion = nn.CrossEntropyLoss()
        model.train()
        losses = []
        for step in range(STEPS):
            opt.zero_grad()
            loss = criterion(model(batches[f"x{step}"]), batches[f"y{step}"])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        save_file(state(model), HERE / f"{name}_after_3_steps.safetensors")

        model.eval()
        eval_input = torch.randn(3, *sample, generator=data)
        with torch.no_grad():
            eval_output = model(eval_input)
        outputs = {"losses": torch.tensor(losses), "eval_input": eval_input, "eval_output": eval_output}
        save_file(outputs, HERE / f"{name}_outputs.safetensors")
        print(name, losses, {k: tuple(v.shape) for k, v in model.state_dict().items()})


if __name__ == "__main__":
    main()
