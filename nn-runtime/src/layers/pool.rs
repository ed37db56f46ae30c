//! (issue 5) pool: not written yet.
