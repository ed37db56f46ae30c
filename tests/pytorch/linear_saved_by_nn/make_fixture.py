"""nn -> PyTorch: load the file nn saved into `nn.Sequential` of the same layers, strictly.

Made with PyTorch 2.15.0 (CPU), safetensors 0.8.0. `saved_by_nn.safetensors` is written by
the Rust test beside this script (./mod.rs); regenerate both from the repository root with

    NN_WRITE_FIXTURES=1 cargo test --test interop linear_saved_by_nn
    /work/torchenv/bin/python tests/pytorch/linear_saved_by_nn/make_fixture.py

This script loads it with `load_state_dict(strict=True)` (which raises on a missing,
unexpected or mis-shaped key) and writes next to itself, float32:

- pytorch_output.safetensors: `input` [6, 4] and PyTorch's `output` [6, 3] (eval, no grad);
- resaved_by_pytorch.safetensors: `save_file(model.state_dict())` of the loaded model.
"""

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

HERE = Path(__file__).resolve().parent


def main():
    torch.set_num_threads(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8, bias=False), nn.LeakyReLU(0.2), nn.Linear(8, 3))
    model.load_state_dict(load_file(HERE / "saved_by_nn.safetensors"), strict=True)
    model.eval()
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(100))
    with torch.no_grad():
        y = model(x)
    save_file({"input": x, "output": y}, HERE / "pytorch_output.safetensors")
    save_file(model.state_dict(), HERE / "resaved_by_pytorch.safetensors")
    same = (HERE / "resaved_by_pytorch.safetensors").read_bytes() == (HERE / "saved_by_nn.safetensors").read_bytes()
    print(list(model.state_dict()), "PyTorch's save equals nn's byte for byte:", same)


if __name__ == "__main__":
    main()
