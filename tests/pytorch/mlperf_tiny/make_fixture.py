"""PyTorch -> nn for two MLPerf Tiny reference models, ResNet-8 and the DS-CNN keyword spotter.

Made with PyTorch 2.15.0 (CPU), safetensors 0.8.0. Rerun from the repository root with

    python tests/pytorch/mlperf_tiny/make_fixture.py

The models are `resnet8()` and `ds_cnn()` below, layer for layer as nn declares them (keys as
nn's: an `nn.Sequential` numbered from 0, a `Residual` at key K numbering its chain K.0, K.1, ...
and its shortcut K.shortcut.0, ...):

- ResNet-8 on CIFAR-10, input [3, 32, 32]: Conv 16 + BN + ReLU, then three residual stages of
  16, 32 and 64 channels (3x3 conv + BN + ReLU + 3x3 conv + BN); the last two downsample by a
  stride-2 first conv, with a 1x1 stride-2 conv as the shortcut; each stage followed by a ReLU;
  then global average pooling, and Linear to 10.
- DS-CNN, input [1, 49, 10]: Conv 64 with a 10x4 kernel, stride 2, padding (5, 1), + BN + ReLU;
  4 blocks of depthwise 3x3 + BN + ReLU, then 1x1 conv with 64 channels + BN + ReLU; then
  global average pooling, and Linear to 12.

Each model is seeded, its BatchNorm weights and biases drawn away from 1 and 0, and its running
statistics moved by three train-mode forwards of shifted, scaled random batches. For each model
`<m>` in (resnet8, ds_cnn) it writes next to this script:

- <m>_weights.safetensors: that state_dict, float32 (`num_batches_tracked` int64, = 3);
- <m>_io.safetensors: `input` [4, C, H, W] (uniform in [-1, 1)) and `labels` [4] (int64);
  `eval_output` [4, classes] (eval mode, running statistics); `train_output` [4, classes]
  (train mode, batch statistics) and `losses` [2], the cross-entropy loss (mean) of
  `train_output` against `labels` before each of the two steps below;
- <m>_grads.safetensors: the gradient of the first loss for every parameter, keyed by the
  parameter's state-dict key;
- <m>_after_2_steps.safetensors: the state_dict after two steps of
  `torch.optim.SGD(lr=0.05, momentum=0.9)`, each zero_grad, train-mode forward of `input`,
  cross-entropy against `labels`, backward, step (running statistics updated by both forwards,
  `num_batches_tracked` = 5).

Everything after the weights is computed in float64: the model is converted to float64 from the
float32 values saved (exactly), so nn's `Net::<f64>` loading the float32 files computes the same
numbers; results are rounded to float32 when saved.

The tests that read them: ./runtime_layers.rs, nn's runtime layers chained by hand, and
./mod.rs, the models declared with `network!` (both run by tests/interop.rs).
"""

from pathlib import Path

import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional

HERE = Path(__file__).resolve().parent
BATCH = 4


class Residual(nn.Sequential):
    """y = chain(x) + shortcut(x), or x + chain(x) without a shortcut; nn's `Residual`.

    The chain's layers are this Sequential's children 0, 1, ...; the shortcut is the child
    `shortcut`, itself a Sequential.
    """

    def __init__(self, *chain, shortcut=None):
        super().__init__(*chain)
        self.shortcut = nn.Sequential(*shortcut) if shortcut else None

    def forward(self, x):
        y = x
        for name, layer in self._modules.items():
            if name != "shortcut":
                y = layer(y)
        return y + (self.shortcut(x) if self.shortcut is not None else x)


def resnet8():
    def stage(cin, cout, stride):
        chain = [
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Conv2d(cout, cout, 3, padding=1),
            nn.BatchNorm2d(cout),
        ]
        shortcut = [nn.Conv2d(cin, cout, 1, stride=stride)] if stride != 1 else None
        return Residual(*chain, shortcut=shortcut)

    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        stage(16, 16, 1),
        nn.ReLU(),
        stage(16, 32, 2),
        nn.ReLU(),
        stage(32, 64, 2),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def ds_cnn():
    layers = [nn.Conv2d(1, 64, (10, 4), stride=2, padding=(5, 1)), nn.BatchNorm2d(64), nn.ReLU()]
    for _ in range(4):
        layers += [
            nn.Conv2d(64, 64, 3, padding=1, groups=64),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.Conv2d(64, 64, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        ]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 12)]
    return nn.Sequential(*layers)


def as_f32(tensors):
    """Float tensors rounded to float32 (counts kept int64), contiguous, for safetensors."""
    return {k: (v.float() if v.is_floating_point() else v).detach().contiguous() for k, v in tensors.items()}


def make(name, build, input_shape, classes, seed):
    torch.manual_seed(seed)
    model = build()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        model.train()
        for _ in range(3):
            model(torch.randn(BATCH, *input_shape) * 2 + 0.5)
    save_file(as_f32(model.state_dict()), HERE / f"{name}_weights.safetensors")

    model = model.double()
    x = torch.rand(BATCH, *input_shape) * 2 - 1
    labels = torch.randint(0, classes, (BATCH,))
    with torch.no_grad():
        eval_output = model.eval()(x.double())
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses, outputs, grads = [], [], None
    for _ in range(2):
        optimizer.zero_grad()
        output = model(x.double())
        loss = functional.cross_entropy(output, labels)
        loss.backward()
        if grads is None:
            grads = {k: p.grad.clone() for k, p in model.named_parameters()}
        optimizer.step()
        losses.append(loss.detach())
        outputs.append(output.detach())

    io = {"input": x, "labels": labels, "eval_output": eval_output, "train_output": outputs[0]}
    io["losses"] = torch.stack(losses)
    save_file(as_f32(io), HERE / f"{name}_io.safetensors")
    save_file(as_f32(grads), HERE / f"{name}_grads.safetensors")
    save_file(as_f32(model.state_dict()), HERE / f"{name}_after_2_steps.safetensors")
    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {params} parameters, losses {[round(l.item(), 6) for l in losses]}")


def main():
    torch.set_num_threads(1)
    make("resnet8", resnet8, (3, 32, 32), 10, seed=0)
    make("ds_cnn", ds_cnn, (1, 49, 10), 12, seed=1)


if __name__ == "__main__":
    main()
