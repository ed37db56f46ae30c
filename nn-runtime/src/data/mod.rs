//! Data loading: IDX files, MNIST, shuffled batches.
