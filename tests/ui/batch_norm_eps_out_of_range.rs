use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> BatchNorm1d(8, eps = 0.0) -> Linear(8, 2) }
}

fn main() {}
