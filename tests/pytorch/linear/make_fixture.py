"""PyTorch -> nn for Linear networks: three `nn.Sequential` models, their weights and outputs.

Made with PyTorch 2.15.0 (CPU), safetensors 0.8.0. Rerun from the repository root with

    /work/torchenv/bin/python tests/pytorch/linear/make_fixture.py

Next to this script it writes, all float32:

- sequential.safetensors: `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))`,
  keys `0.weight` [8, 4], `0.bias`, `2.weight` [3, 8], `2.bias`;
- named.safetensors: `nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), act=nn.GELU(), fc2=nn.Linear(8, 3)))`,
  keys `fc1.weight`, `fc1.bias`, `fc2.weight`, `fc2.bias`;
- no_bias.safetensors: `nn.Sequential(nn.Linear(4, 8, bias=False), nn.Tanh(), nn.Linear(8, 3, bias=False))`,
  keys `0.weight`, `2.weight`;
- <model>_io.safetensors: `input` [5, 4] and PyTorch's `output` [5, 3] (eval mode, no grad).

The tests that read them are in ./mod.rs, run by tests/interop.rs.
"""

from collections import OrderedDict
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

HERE = Path(__file__).resolve().parent


def models():
    torch.manual_seed(0)
    yield "sequential", nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    torch.manual_seed(1)
    yield "named", nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), act=nn.GELU(), fc2=nn.Linear(8, 3)))
    torch.manual_seed(2)
    yield "no_bias", nn.Sequential(nn.Linear(4, 8, bias=False), nn.Tanh(), nn.Linear(8, 3, bias=False))


def main():
    torch.set_num_threads(1)
    for name, model in models():
        model.eval()
        x = torch.randn(5, 4, generator=torch.Generator().manual_seed(100))
        with torch.no_grad():
            y = model(x)
        save_file(model.state_dict(), HERE / f"{name}.safetensors")
        save_file({"input": x, "output": y}, HERE / f"{name}_io.safetensors")
        print(name, list(model.state_dict()), tuple(y.shape))


if __name__ == "__main__":
    main()
