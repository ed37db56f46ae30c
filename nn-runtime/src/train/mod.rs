//! The training loop: epochs of shuffled batches, a progress bar, per-epoch loss
//! and accuracy, checkpoints to resume from, and a plot of the curves.

mod checkpoint;
mod history;
mod plot;
mod progress;
mod trainer;

pub use history::{EpochRecord, History};
pub use plot::plot_history;
pub use progress::Progress;
pub use trainer::{evaluate, Evaluation, Trainer};
