//! Losses, mean-reduced and numerically equal to PyTorch's.
