use nn::network;

network! {
    pub struct Net { fc: Linear(4, 8) -> ReLU -> fc: Linear(8, 2) }
}

fn main() {}
