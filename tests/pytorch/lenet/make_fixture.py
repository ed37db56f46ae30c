"""PyTorch -> nn for convolutions: a LeNet-5 state_dict, a batch of 4 images and its logits.

Made with PyTorch 2.15.0 (CPU), safetensors 0.8.0. Rerun from the repository root with

    /work/torchenv/bin/python tests/pytorch/lenet/make_fixture.py

Next to this script it writes, all float32:

- model.safetensors: the state_dict of the `nn.Sequential` in `lenet()` below (seed 0):
  `0.weight` [6, 1, 5, 5], `0.bias`, `3.weight` [16, 6, 5, 5], `3.bias`, `7.weight` [120, 400],
  `7.bias`, `9.weight` [84, 120], `9.bias`, `11.weight` [10, 84], `11.bias`;
- io.safetensors: `input` [4, 1, 28, 28] (uniform in [0, 1), like MNIST pixels) and
  PyTorch's `logits` [4, 10] (eval mode, no grad).

The tests that read them are in ./mod.rs, run by tests/interop.rs.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

HERE = Path(__file__).resolve().parent


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = lenet().eval()
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(100))
    with torch.no_grad():
        logits = model(x)
    save_file(model.state_dict(), HERE / "model.safetensors")
    save_file({"input": x, "logits": logits}, HERE / "io.safetensors")
    print(list(model.state_dict()), logits)


if __name__ == "__main__":
    main()
