//! (issue 5) batch_norm: not written yet.
