#!/usr/bin/env python3
"""Writes the firmware's committed fixtures (standard library only):

- digits.bin: the first 8 images of data/mnist-10k's test set, each as its label byte
  followed by its 784 pixel bytes (row-major 28x28), as the IDX file stores them;
- models/small.safetensors: the 16-32-4 model, untrained (it measures what a small model
  costs; its outputs are checked bit for bit, not for accuracy): PyTorch's default Linear
  init (weight and bias uniform in +-1/sqrt(in_features)) from a fixed seed, as float32.

models/mnist.safetensors is not made here: it is the seed model trained by nn's mnist
example, copied from where that example writes it:
    cargo run --release --example mnist && cp target/mnist/mnist.safetensors examples/firmware/models/
models/mnist-int8.safetensors is that model quantised by nn's quantize example:
    cargo run --release --example quantize && cp target/mnist/mnist-int8.safetensors examples/firmware/models/
models/small-int8.safetensors is models/small.safetensors quantised by the host reference:
    cargo run --example firmware_reference -- --make-small-int8
Run from anywhere: python3 examples/firmware/make_fixtures.py
"""
import gzip
import json
import random
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "data" / "mnist-10k"
DIGITS = 8


def idx(name):
    raw = gzip.open(DATA / f"{name}.gz").read()
    rank = raw[3]
    dims = struct.unpack(f">{rank}I", raw[4 : 4 + 4 * rank])
    return dims, raw[4 + 4 * rank :]


def write_digits():
    (_, rows, cols), pixels = idx("t10k-images-idx3-ubyte")
    _, labels = idx("t10k-labels-idx1-ubyte")
    size = rows * cols
    out = b"".join(bytes([labels[i]]) + pixels[i * size : (i + 1) * size] for i in range(DIGITS))
    (HERE / "digits.bin").write_bytes(out)
    print("digits.bin: labels", list(labels[:DIGITS]))


def safetensors(tensors):
    """Serialises {name: (shape, floats)} as float32 safetensors, tensors in name order."""
    header, data = {}, b""
    for name in sorted(tensors):
        shape, values = tensors[name]
        blob = struct.pack(f"<{len(values)}f", *values)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def write_small():
    rng = random.Random(0)
    tensors = {}
    for index, (fan_in, fan_out) in zip((0, 2), ((16, 32), (32, 4))):
        bound = 1 / fan_in**0.5
        tensors[f"{index}.weight"] = ([fan_out, fan_in], [rng.uniform(-bound, bound) for _ in range(fan_out * fan_in)])
        tensors[f"{index}.bias"] = ([fan_out], [rng.uniform(-bound, bound) for _ in range(fan_out)])
    (HERE / "models" / "small.safetensors").write_bytes(safetensors(tensors))
    print("models/small.safetensors written")


if __name__ == "__main__":
    write_digits()
    write_small()
