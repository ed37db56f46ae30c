//! (issue 5) conv2d: not written yet.
