//! The smallest whole program: declare a 2-8-1 network, train it on XOR with SGD and
//! momentum, and print the two ends of the loss curve and the accuracy.
//!
//! `cargo run --release --example xor`

use nn::ndarray::array;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

network! {
    /// Two inputs, eight hidden units, one output probability.
    pub struct Xor {
        Linear(2, 8) -> Tanh -> Linear(8, 1) -> Sigmoid
    }
}

const EPOCHS: usize = 500;

fn main() {
    let inputs = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let targets = array![[0.0f32], [1.0], [1.0], [0.0]];

    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Xor::<f32>::init(&mut rng);
    let mut optimizer = Sgd::new(0.5).momentum(0.9);
    let criterion = MseLoss::new();

    let mut curve = Vec::with_capacity(EPOCHS);
    for _ in 0..EPOCHS {
        model.zero_grad();
        let (output, tape) = model.forward_train(inputs.view());
        let (loss, grad) = criterion.loss_and_grad(output.view(), targets.view());
        model.backward(tape, grad.view());
        optimizer.step(&mut model);
        curve.push(loss);
    }

    for (epoch, loss) in curve.iter().enumerate().take(3) {
        println!("epoch {:>3}: loss {loss:.6}", epoch + 1);
    }
    println!("...");
    for (epoch, loss) in curve.iter().enumerate().skip(EPOCHS - 3) {
        println!("epoch {:>3}: loss {loss:.6}", epoch + 1);
    }

    let predictions = model.forward(inputs.view());
    let correct = predictions.iter().zip(targets.iter()).filter(|(p, t)| (**p > 0.5) == (**t > 0.5)).count();
    for (x, p) in inputs.rows().into_iter().zip(predictions.iter()) {
        println!("{} xor {} -> {p:.3}", x[0], x[1]);
    }
    println!("accuracy: {:.0}%", 100.0 * correct as f32 / targets.len() as f32);
}
