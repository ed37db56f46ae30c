"""PyTorch -> nn for grouped, depthwise and non-square convolutions: outputs and every gradient.

Made with PyTorch 2.15.0 (CPU), safetensors 0.8.0. Rerun from the repository root with

    python tests/pytorch/conv2d_groups/make_fixture.py

For each case of `CASES` below it writes <case>.safetensors next to this script, all float32:

- `weight` [out_c, in_c / groups, kh, kw] and `bias` [out_c] (if the layer has one): PyTorch's
  default init, seeded;
- `input` [2, in_c, H, W], uniform in [-1, 1), and `grad_output`, shaped as the output, uniform
  in [-1, 1): the loss is sum(output * grad_output);
- `output`, and the loss's gradients `weight_grad`, `bias_grad` (if any) and `input_grad`.

The outputs and gradients are computed in float64 from the float32 weights and inputs (exact
in float64), then rounded to float32, so they hold PyTorch's values to float32 precision, not
float32 arithmetic's rounding.

The tests that read them are in ./mod.rs, run by tests/interop.rs; its `CASES` mirrors this one.
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn

HERE = Path(__file__).resolve().parent

# name: (in_c, out_c, kernel, stride, padding, groups, bias, (H, W))
CASES = {
    "grouped": (4, 6, (3, 3), (1, 1), (1, 1), 2, True, (6, 7)),
    "grouped_non_square": (6, 3, (2, 3), (2, 1), (0, 1), 3, False, (7, 8)),
    "depthwise": (4, 4, (3, 3), (2, 2), (1, 1), 4, True, (9, 8)),
    "depthwise_multiplier": (3, 6, (3, 3), (1, 1), (1, 1), 3, False, (5, 6)),
    "ds_cnn_first": (1, 8, (10, 4), (2, 2), (5, 1), 1, True, (49, 10)),
}


def main():
    torch.set_num_threads(1)
    for seed, (name, (in_c, out_c, kernel, stride, padding, groups, bias, (h, w))) in enumerate(CASES.items()):
        torch.manual_seed(seed)
        conv = nn.Conv2d(in_c, out_c, kernel, stride=stride, padding=padding, groups=groups, bias=bias)
        x = torch.rand(2, in_c, h, w) * 2 - 1
        tensors = {"weight": conv.weight.detach().clone(), "input": x}
        if bias:
            tensors["bias"] = conv.bias.detach().clone()
        conv = conv.double()
        x = x.double().requires_grad_()
        y = conv(x)
        r = torch.rand(y.shape, dtype=torch.float64).float().double() * 2 - 1
        (y * r).sum().backward()
        tensors.update(grad_output=r, output=y, weight_grad=conv.weight.grad, input_grad=x.grad)
        if bias:
            tensors["bias_grad"] = conv.bias.grad
        tensors = {k: v.detach().float().contiguous() for k, v in tensors.items()}
        save_file(tensors, HERE / f"{name}.safetensors")
        print(name, {k: list(v.shape) for k, v in tensors.items()})


if __name__ == "__main__":
    main()
