//! The training loop: epochs, progress, checkpoints, plots.
