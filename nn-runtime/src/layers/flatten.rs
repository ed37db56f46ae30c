//! (issue 5) flatten: not written yet.
