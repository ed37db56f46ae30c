"""The PyTorch ports of the four MLPerf Tiny reference models that examples/mlperf_tiny.rs
declares, layer for layer, and their parameter counts, which the example asserts its
`NUM_PARAMS` against. Made with PyTorch 2.15.0; rerun from the repository root with

    python examples/mlperf_tiny_params.py

ResNet-8 and the DS-CNN are tests/pytorch/mlperf_tiny/make_fixture.py's. The MobileNetV1's
convolutions keep a bias, as Keras's `Conv2D`/`DepthwiseConv2D` default in the MLPerf Tiny
reference (mlcommons/tiny, benchmark/training/visual_wake_words/vww_model.py); Keras counts
its BatchNorm running statistics too, which is the second number printed (221,794 there).
"""

import importlib.util
import pathlib

from torch import nn

HERE = pathlib.Path(__file__).resolve().parent
FIXTURE = HERE.parent / "tests" / "pytorch" / "mlperf_tiny" / "make_fixture.py"


def fixture_models():
    spec = importlib.util.spec_from_file_location("make_fixture", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.resnet8(), module.ds_cnn()


def mobilenet_v1():
    """MobileNetV1 x0.25 for 96x96 visual wake words."""
    layers = [nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.BatchNorm2d(8), nn.ReLU()]
    channels = 8
    outs = [16, 32, 32, 64, 64, 128, 128, 128, 128, 128, 128, 256, 256]
    strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
    for out, stride in zip(outs, strides):
        layers += [
            nn.Conv2d(channels, channels, 3, stride=stride, padding=1, groups=channels),
            nn.BatchNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, out, 1),
            nn.BatchNorm2d(out),
            nn.ReLU(),
        ]
        channels = out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 2)]
    return nn.Sequential(*layers)


def autoencoder():
    """The FC autoencoder for anomaly detection: 640 -> 128 x4 -> 8 -> 128 x4 -> 640."""
    sizes = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640]
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(sizes):
            layers += [nn.BatchNorm1d(b), nn.ReLU()]
    return nn.Sequential(*layers)


def main():
    resnet8, ds_cnn = fixture_models()
    for name, model in [
        ("DS-CNN", ds_cnn),
        ("MobileNetV1 x0.25", mobilenet_v1()),
        ("ResNet-8", resnet8),
        ("FC autoencoder", autoencoder()),
    ]:
        params = sum(p.numel() for p in model.parameters())
        stats = sum(m.num_features * 2 for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
        print(f"{name}: {params} parameters ({params + stats} counting BatchNorm running statistics)")


if __name__ == "__main__":
    main()
