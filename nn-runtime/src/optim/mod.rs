//! Optimisers, learning-rate schedules and gradient clipping, step for step as PyTorch.
