//! Gradient clipping by global norm, as PyTorch's `torch.nn.utils.clip_grad_norm_`.

use crate::{Entry, Float, Params};

/// Scales every gradient of `model` so that their joint 2-norm is at most `max_norm`,
/// and returns the norm they had, as PyTorch's `clip_grad_norm_`: the gradients are
/// multiplied by `max_norm / (norm + 1e-6)` when that is below 1, else left alone.
///
/// The norm is accumulated in `f64`. A non-finite norm is returned as it is (an
/// infinite one zeroes the gradients, a NaN leaves them); the caller decides whether
/// to skip the step.
pub fn clip_grad_norm<F: Float, P: Params<F> + ?Sized>(model: &mut P, max_norm: f64) -> f64 {
    let mut sum_of_squares = 0.0;
    model.visit(&mut |_, entry| {
        if let Entry::Param { grad, .. } = entry {
            sum_of_squares += grad.iter().map(|&g| Float::to_f64(g) * Float::to_f64(g)).sum::<f64>();
        }
    });
    let total_norm = sum_of_squares.sqrt();
    let clip_coef = max_norm / (total_norm + 1e-6);
    if clip_coef < 1.0 {
        let clip_coef = F::of(clip_coef);
        model.for_each_param_mut(&mut |_, _, mut grad| grad.mapv_inplace(|g| g * clip_coef));
    }
    total_norm
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{assert_close, Toy};

    #[test]
    fn scales_to_max_norm_as_pytorch() {
        // Gradients [3, 4] and [12]: norm 13; scaled by 6.5 / (13 + 1e-6) (python3, float64).
        let mut toy = Toy::<f64>::new([0.0; 3]);
        toy.set_grads([3.0, 4.0, 12.0]);
        assert_eq!(clip_grad_norm(&mut toy, 6.5), 13.0);
        let grads: Vec<f64> = toy.0.iter().flat_map(|(_, _, grad)| grad.iter().copied()).collect();
        assert_close(&grads, &[1.4999998846153937, 1.9999998461538582, 5.999999538461575], 1e-15);
    }

    #[test]
    fn leaves_small_gradients_alone() {
        let mut toy = Toy::<f32>::new([0.0; 3]);
        toy.set_grads([3.0, 4.0, 12.0]);
        assert_eq!(clip_grad_norm(&mut toy, 14.0), 13.0);
        let grads: Vec<f32> = toy.0.iter().flat_map(|(_, _, grad)| grad.iter().copied()).collect();
        assert_eq!(grads, [3.0, 4.0, 12.0]);
    }
}
