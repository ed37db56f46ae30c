"""Makes the TFLite int8 fixture of tests/int8_tflite.rs. Run locally, never in CI:

    pip install tensorflow-cpu tflite-micro safetensors
    python tests/int8/make_fixture.py

Builds a small Keras model (Conv2D + ReLU, a residual DepthwiseConv2D added by an ADD,
MaxPool2D, AveragePool2D, Flatten, Dense), converts it with the TFLite converter to full
int8 with a representative dataset, and writes:

- tflite-int8.safetensors: TFLite's int8 parameters in nn's int8 layout (NCHW, weights
  [out, in, kh, kw]), keyed as nn keys the network
      input: [2, 8, 8]
      Conv2d(2, 4, 3, padding = 1) -> ReLU
        -> Residual(Conv2d(4, 4, 3, padding = 1, groups = 4))
        -> MaxPool2d(2) -> AvgPool2d(2) -> Flatten -> Linear(16, 5)
  (keys 0, 2.0, 2 and 6);
- tflm-outputs.safetensors: int8 inputs (NCHW) and the outputs TFLite for
  Microcontrollers' interpreter computes for them.
"""

import pathlib

import numpy as np
import tensorflow as tf
from safetensors.numpy import save_file
from tflite_micro.python.tflite_micro import runtime

HERE = pathlib.Path(__file__).parent
rng = np.random.default_rng(15)
tf.keras.utils.set_random_seed(15)

inputs = tf.keras.Input(shape=(8, 8, 2))
conv = tf.keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
depthwise = tf.keras.layers.DepthwiseConv2D(3, padding="same")(conv)
residual = tf.keras.layers.Add()([depthwise, conv])
pooled = tf.keras.layers.MaxPool2D(2)(residual)
averaged = tf.keras.layers.AveragePooling2D(2)(pooled)
flat = tf.keras.layers.Flatten()(averaged)
logits = tf.keras.layers.Dense(5)(flat)
model = tf.keras.Model(inputs, logits)
# Non-trivial biases (Keras starts them at zero).
for layer in model.layers:
    if getattr(layer, "bias", None) is not None:
        layer.bias.assign(rng.normal(0, 0.3, layer.bias.shape).astype(np.float32))

calibration = rng.normal(0, 1, (64, 8, 8, 2)).astype(np.float32)


def representative():
    for x in calibration:
        yield [x[None]]


converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
converter.representative_dataset = representative
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
flatbuffer = converter.convert()

interpreter = tf.lite.Interpreter(model_content=flatbuffer)
interpreter.allocate_tensors()
details = {t["index"]: t for t in interpreter.get_tensor_details()}
ops = interpreter._get_ops_details()
print([op["op_name"] for op in ops])


def quant(index):
    q = details[index]["quantization_parameters"]
    return q["scales"].astype(np.float32), q["zero_points"].astype(np.int32)


def scalar_quant(index, prefix):
    scales, zero_points = quant(index)
    assert len(scales) == 1, f"{prefix}: per-tensor quantisation expected"
    return {
        f"{prefix}scale": np.array(scales[0], dtype=np.float32),
        f"{prefix}zero_point": np.array(zero_points[0], dtype=np.int32),
    }


def weighted(op, key, weight):
    """`K.weight`, `K.weight_scale`, `K.bias` and the output quantisation of one layer."""
    out = weight.shape[0]
    scales, zero_points = quant(op["inputs"][1])
    assert np.all(zero_points == 0), f"{key}: weights are symmetric"
    scales = np.broadcast_to(scales, (out,)).astype(np.float32)
    tensors = {
        f"{key}.weight": np.ascontiguousarray(weight.astype(np.int8)),
        f"{key}.weight_scale": np.ascontiguousarray(scales),
        f"{key}.bias": interpreter.get_tensor(op["inputs"][2]).astype(np.int32),
    }
    tensors.update(scalar_quant(op["outputs"][0], f"{key}.output_"))
    return tensors


by_name = {}
for op in ops:
    by_name.setdefault(op["op_name"], []).append(op)
(conv_op,) = by_name["CONV_2D"]
(depthwise_op,) = by_name["DEPTHWISE_CONV_2D"]
(add_op,) = by_name["ADD"]
(dense_op,) = by_name["FULLY_CONNECTED"]

tensors = scalar_quant(conv_op["inputs"][0], "input.")
# CONV_2D filters are [out, kh, kw, in]; nn's are [out, in, kh, kw].
conv_filter = interpreter.get_tensor(conv_op["inputs"][1])
tensors.update(weighted(conv_op, "0", conv_filter.transpose(0, 3, 1, 2)))
# DEPTHWISE_CONV_2D filters are [1, kh, kw, channels]; nn's grouped weight is [channels, 1, kh, kw].
depthwise_filter = interpreter.get_tensor(depthwise_op["inputs"][1])
tensors.update(weighted(depthwise_op, "2.0", depthwise_filter.transpose(3, 0, 1, 2)))
# The ADD's first input must be the depthwise output (the residual chain), the second the shortcut.
assert add_op["inputs"][0] == depthwise_op["outputs"][0], "ADD inputs in the other order"
tensors.update(scalar_quant(add_op["outputs"][0], "2.output_"))
# TFLite flattens [h, w, c]; nn flattens [c, h, w]: permute the dense weight's columns.
fc = interpreter.get_tensor(dense_op["inputs"][1])
h, w, c = 2, 2, 4
fc_nchw = fc.reshape(fc.shape[0], h, w, c).transpose(0, 3, 1, 2).reshape(fc.shape[0], -1)
tensors.update(weighted(dense_op, "6", fc_nchw))
save_file(tensors, HERE / "tflite-int8.safetensors")

# TFLM's outputs on a few inputs drawn like the calibration data, quantised by TFLite's
# input parameters.
micro = runtime.Interpreter.from_bytes(flatbuffer)
input_scale, input_zp = quant(conv_op["inputs"][0])
samples = rng.normal(0, 1.0, (8, 8, 8, 2)).astype(np.float32)
quantized = np.clip(np.round(samples / input_scale[0]) + input_zp[0], -128, 127).astype(np.int8)
outputs = []
for x in quantized:
    micro.set_input(x[None], 0)
    micro.invoke()
    outputs.append(micro.get_output(0)[0].copy())
save_file(
    {
        "inputs": np.ascontiguousarray(quantized.transpose(0, 3, 1, 2)),
        "outputs": np.stack(outputs).astype(np.int8),
    },
    HERE / "tflm-outputs.safetensors",
)
print("outputs", np.stack(outputs))
