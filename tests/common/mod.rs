//! Test support shared by the integration tests: a model's parameters and gradients
//! as flat vectors, and the whole-network finite-difference check. Each test crate
//! uses part of it.
#![allow(dead_code)]

use nn::ndarray::{Array, Array2};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;
use nn::{Entry, EntryMut};

/// Every trainable value (`grads = false`) or gradient (`grads = true`), in visit order.
pub fn flat_params<M: Params<f64>>(model: &M, grads: bool) -> Vec<f64> {
    let mut all = Vec::new();
    model.visit(&mut |_, entry| {
        if let Entry::Param { value, grad } = entry {
            all.extend(if grads { grad } else { value }.iter().copied());
        }
    });
    all
}

/// Overwrites every trainable value, in visit order.
pub fn set_flat_params<M: Params<f64>>(model: &mut M, values: &[f64]) {
    let mut next = values.iter();
    model.visit_mut(&mut |_, entry| {
        if let EntryMut::Param { mut value, .. } = entry {
            value.iter_mut().for_each(|v| *v = *next.next().expect("as many values as parameters"));
        }
    });
}

/// Asserts `analytic ≈ numeric` elementwise within `1e-6 · (1 + |numeric|)`.
pub fn assert_close(what: &str, analytic: &[f64], numeric: &[f64]) {
    assert_eq!(analytic.len(), numeric.len());
    for (i, (a, n)) in analytic.iter().zip(numeric).enumerate() {
        assert!((a - n).abs() <= 1e-6 * (1.0 + n.abs()), "{what} {i}: analytic {a} vs finite difference {n}");
    }
}

/// Checks every parameter gradient and the input gradient of `model` against central
/// differences of `loss = Σ forward_train(x) ⊙ r` (the training forward: BatchNorm on
/// batch statistics, so it must not use dropout).
pub fn check_gradients<M: Model<f64>>(mut model: M, x: Array<f64, M::InputDim>, r: Array2<f64>)
where
    Array2<f64>: Into<Array<f64, M::OutputDim>>,
{
    let r: Array<f64, M::OutputDim> = r.into();
    let loss = |model: &M, x: &Array<f64, M::InputDim>| (model.forward_train(x.view()).0 * &r).sum();
    model.zero_grad();
    let (_, tape) = model.forward_train(x.view());
    let grad_x = model.backward_with_input_grad(tape, r.view());

    let h = 1e-6;
    let values = flat_params(&model, false);
    let mut probe = M::init(&mut StdRng::seed_from_u64(0));
    let numeric: Vec<f64> = (0..values.len())
        .map(|i| {
            let mut shifted = values.clone();
            shifted[i] += h;
            set_flat_params(&mut probe, &shifted);
            let up = loss(&probe, &x);
            shifted[i] -= 2.0 * h;
            set_flat_params(&mut probe, &shifted);
            (up - loss(&probe, &x)) / (2.0 * h)
        })
        .collect();
    assert_close("parameter", &flat_params(&model, true), &numeric);

    let numeric_x: Vec<f64> = (0..x.len())
        .map(|i| {
            let mut shifted = x.clone();
            shifted.as_slice_mut().expect("standard layout")[i] += h;
            let up = loss(&model, &shifted);
            shifted.as_slice_mut().expect("standard layout")[i] -= 2.0 * h;
            (up - loss(&model, &shifted)) / (2.0 * h)
        })
        .collect();
    assert_close("input", grad_x.as_slice().expect("standard layout"), &numeric_x);
}
