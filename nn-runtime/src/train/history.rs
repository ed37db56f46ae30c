//! What the trainer measured, epoch by epoch.

/// The measurements of one epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch's samples (measured in training mode, as the
    /// weights changed during the epoch).
    pub train_loss: f64,
    /// Fraction of training samples classified correctly during the epoch, in `[0, 1]`.
    pub train_accuracy: f64,
    /// Mean loss on the test set after the epoch, in inference mode, if one was given.
    pub test_loss: Option<f64>,
    /// Fraction of the test set classified correctly after the epoch, if one was given.
    pub test_accuracy: Option<f64>,
    /// Wall time of the epoch in seconds: training and evaluation.
    pub seconds: f64,
}

/// Every epoch's [`EpochRecord`], in order; what `Trainer::fit` returns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    /// One record per completed epoch, the first epoch first.
    pub epochs: Vec<EpochRecord>,
}

impl History {
    /// The latest epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Number of completed epochs.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// Whether no epoch has completed.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }
}
