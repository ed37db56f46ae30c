use nn::prelude::*;

network! {
    /// A tiny net.
    pub struct Tiny {
        Linear(2, 8) -> Tanh -> Linear(8, 1) -> Sigmoid
    }
}

#[test]
fn smoke() {
    let mut rng = <nn::rand::rngs::StdRng as nn::rand::SeedableRng>::seed_from_u64(0);
    let mut model = Tiny::<f64>::init(&mut rng);
    let x = nn::ndarray::array![[0.0, 1.0], [1.0, 0.0]];
    let (y, tape) = model.forward_train(x.view());
    model.backward(tape, y.view());
    let f = model.freeze();
    let _ = f.infer(&[0.0, 1.0]);
}
