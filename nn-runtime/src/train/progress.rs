//! What a person watching training sees: a live bar per epoch on a terminal, one
//! line per epoch otherwise.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::EpochRecord;

/// How the trainer reports progress on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// A bar when stdout is a terminal, plain lines when it is not (a file, a pipe, CI).
    #[default]
    Auto,
    /// A live bar per epoch (steps, running loss, samples/s), then the epoch's line.
    Bar,
    /// One line per epoch.
    Lines,
    /// Nothing.
    Silent,
}

/// Steps between two refreshes of the bar's message (formatting it costs an allocation).
const MESSAGE_EVERY: usize = 8;

/// The report of one epoch in progress.
pub(crate) struct EpochProgress {
    bar: Option<ProgressBar>,
    silent: bool,
    started: Instant,
}

impl EpochProgress {
    /// Starts reporting epoch `epoch` (1-based) of `epochs`, which takes `steps` steps.
    pub(crate) fn start(mode: Progress, epoch: usize, epochs: usize, steps: usize) -> Self {
        let show_bar = match mode {
            Progress::Auto => std::io::stdout().is_terminal(),
            Progress::Bar => true,
            Progress::Lines | Progress::Silent => false,
        };
        let bar = show_bar.then(|| {
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stdout());
            let style = ProgressStyle::with_template("epoch {prefix} [{bar:20.cyan/blue}] {pos}/{len}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(epoch_label(epoch, epochs));
            bar
        });
        EpochProgress { bar, silent: mode == Progress::Silent, started: Instant::now() }
    }

    /// Reports that step `step` (1-based) finished, with the running mean loss and the
    /// samples seen so far in this epoch.
    pub(crate) fn step(&self, step: usize, running_loss: f64, samples: usize) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            if step % MESSAGE_EVERY == 1 {
                let rate = samples as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("loss {running_loss:.4}  {rate:.0} samples/s"));
            }
        }
    }

    /// Ends the bar and prints the epoch's line.
    pub(crate) fn finish(self, record: &EpochRecord, epochs: usize) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        if !self.silent {
            println!("{}", epoch_line(record, epochs));
        }
    }
}

fn epoch_label(epoch: usize, epochs: usize) -> String {
    let width = epochs.to_string().len();
    format!("{epoch:>width$}/{epochs}")
}

/// `epoch  3/15  train loss 0.1234  train acc 96.12%  test loss 0.2345  test acc 93.98%  0.10 s`.
pub(crate) fn epoch_line(record: &EpochRecord, epochs: usize) -> String {
    let mut line = format!(
        "epoch {}  train loss {:.4}  train acc {:.2}%",
        epoch_label(record.epoch, epochs),
        record.train_loss,
        100.0 * record.train_accuracy
    );
    if let (Some(loss), Some(accuracy)) = (record.test_loss, record.test_accuracy) {
        line += &format!("  test loss {loss:.4}  test acc {:.2}%", 100.0 * accuracy);
    }
    line + &format!("  {:.2} s", record.seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_line_aligns_and_rounds() {
        let record = EpochRecord {
            epoch: 3,
            train_loss: 0.123_44,
            train_accuracy: 0.961_24,
            test_loss: Some(0.234_51),
            test_accuracy: Some(0.939_76),
            seconds: 0.104,
        };
        let line = "epoch  3/15  train loss 0.1234  train acc 96.12%  test loss 0.2345  test acc 93.98%  0.10 s";
        assert_eq!(epoch_line(&record, 15), line);
        let no_test = EpochRecord { test_loss: None, test_accuracy: None, ..record };
        assert_eq!(epoch_line(&no_test, 9), "epoch 3/9  train loss 0.1234  train acc 96.12%  0.10 s");
    }
}
