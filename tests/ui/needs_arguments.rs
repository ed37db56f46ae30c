use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> BatchNorm1d -> Linear(8, 2) }
}

fn main() {}
