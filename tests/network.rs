//! Generated dense networks end to end: gradients against finite differences in f64,
//! inference paths agreeing, shapes and the `Params` walk as PyTorch has them.

use nn::ndarray::{array, Array2};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};
use nn::Entry;

mod common;
use common::{assert_close, check_gradients, flat_params};

network! {
    /// Every dense layer kind with a derivative, in one chain.
    pub struct Deep {
        Linear(3, 5) -> GELU -> Linear(5, 4) -> Tanh -> Linear(4, 4) -> Sigmoid
            -> Linear(4, 4, bias = false) -> LeakyReLU(0.2) -> Linear(4, 4) -> ReLU -> Linear(_, 3) -> Softmax
    }
}

network! {
    /// Named layers, as in a PyTorch module with attributes.
    pub struct Named {
        fc1: Linear(4, 6) -> ReLU -> fc2: Linear(6, 2)
    }
}

network! {
    pub struct WithDropout {
        Linear(4, 16) -> ReLU -> Dropout(0.5) -> Linear(16, 2)
    }
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(42)
}

fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-1.5..1.5))
}

/// The whole generated backward (every parameter and the input) against central
/// differences of `loss = Σ forward(x) ⊙ r`.
#[test]
fn deep_backward_matches_finite_differences() {
    let mut rng = rng();
    let model = Deep::<f64>::init(&mut rng);
    let (x, r) = (random(3, 3, &mut rng), random(3, 3, &mut rng));
    assert_eq!(
        model.forward_train(x.view()).0,
        model.forward(x.view()),
        "training and inference agree without dropout"
    );
    check_gradients(model, x, r);
}

#[test]
fn backward_accumulates_until_zero_grad() {
    let mut model = Named::<f64>::init(&mut rng());
    let x = random(2, 4, &mut rng());
    let r = array![[1.0, -1.0], [0.5, 2.0]];
    let (_, tape) = model.forward_train(x.view());
    model.backward(tape, r.view());
    let once = flat_params(&model, true);
    let (_, tape) = model.forward_train(x.view());
    model.backward(tape, r.view());
    let twice: Vec<f64> = once.iter().map(|g| 2.0 * g).collect();
    assert_close("gradient", &flat_params(&model, true), &twice);
    model.zero_grad();
    assert!(flat_params(&model, true).iter().all(|&g| g == 0.0));
}

/// Each parameter's key and shape, in visit order.
fn keys<M: Params<f32>>(model: &M) -> Vec<String> {
    let mut keys = Vec::new();
    model.visit(&mut |key, entry| {
        let shape = match entry {
            Entry::Param { value, .. } => value.shape().to_vec(),
            _ => unreachable!("dense networks have only parameters"),
        };
        keys.push(format!("{key} {shape:?}"));
    });
    keys
}

#[test]
fn params_follow_pytorch_state_dict_keys_and_order() {
    let deep = Deep::<f32>::init(&mut rng());
    let deep_keys = keys(&deep);
    assert_eq!(
        deep_keys,
        [
            "0.weight [5, 3]",
            "0.bias [5]",
            "2.weight [4, 5]",
            "2.bias [4]",
            "4.weight [4, 4]",
            "4.bias [4]",
            "6.weight [4, 4]",
            "8.weight [4, 4]",
            "8.bias [4]",
            "10.weight [3, 4]",
            "10.bias [3]"
        ]
    );
    let named = Named::<f32>::init(&mut rng());
    assert_eq!(keys(&named), ["fc1.weight [6, 4]", "fc1.bias [6]", "fc2.weight [2, 6]", "fc2.bias [2]"]);
}

#[test]
fn constants_describe_the_declaration() {
    assert_eq!((Deep::<f32>::INPUT, Deep::<f32>::OUTPUT), (3, 3));
    assert_eq!(Deep::<f32>::NUM_PARAMS, (3 * 5 + 5) + (5 * 4 + 4) + (16 + 4) + 16 + (16 + 4) + (12 + 3));
    assert_eq!(Deep::<f32>::init(&mut rng()).num_params(), Deep::<f32>::NUM_PARAMS);
    assert_eq!(<<Named as Network>::Input as nn::typenum::Unsigned>::USIZE, 4);
    assert_eq!(<<Named as Network>::Output as nn::typenum::Unsigned>::USIZE, 2);
}

#[test]
fn frozen_infer_matches_forward() {
    let model = Deep::<f64>::init(&mut rng());
    let frozen = model.freeze();
    let x = random(4, 3, &mut rng());
    let batch = model.forward(x.view());
    for (row, want) in x.rows().into_iter().zip(batch.rows()) {
        let got = frozen.infer(&[row[0], row[1], row[2]]);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "frozen {g} vs forward {w}");
        }
    }
}

#[test]
fn wrong_batch_shape_is_a_typed_error_naming_both_shapes() {
    let model = Named::<f32>::init(&mut rng());
    let err = model.try_forward(Array2::zeros((2, 5)).view()).unwrap_err();
    assert!(matches!(&err, nn::Error::Shape { expected, found, .. } if expected == &[0, 4] && found == &[2, 5]));
    let message = err.to_string();
    assert!(message.contains("Named") && message.contains("[0, 4]") && message.contains("[2, 5]"), "{message}");
}

#[test]
#[should_panic(expected = "expected shape [0, 4], found [1, 3]")]
fn forward_train_panics_on_wrong_shape() {
    let model = Named::<f32>::init(&mut rng());
    let _ = model.forward_train(Array2::zeros((1, 3)).view());
}

#[test]
fn dropout_is_reproducible_and_off_in_inference() {
    let x = Array2::from_elem((8, 4), 1.0f32);
    let a = WithDropout::<f32>::init(&mut rng());
    let b = WithDropout::<f32>::init(&mut rng());
    let (ya, _) = a.forward_train(x.view());
    let (yb, _) = b.forward_train(x.view());
    assert_eq!(ya, yb, "same seed, same masks");
    let (ya2, _) = a.forward_train(x.view());
    assert_ne!(ya, ya2, "each training pass draws a new mask");
    assert_eq!(a.forward(x.view()), a.forward(x.view()), "inference is deterministic");
}

#[test]
fn f32_and_f64_networks_agree() {
    let model64 = Named::<f64>::init(&mut rng());
    let model32 = Named::<f32>::init(&mut rng());
    let x64 = random(3, 4, &mut rng());
    let y64 = model64.forward(x64.view());
    let y32 = model32.forward(x64.mapv(|v| v as f32).view());
    for (a, b) in y64.iter().zip(y32.iter()) {
        assert!((a - *b as f64).abs() < 1e-5);
    }
}
