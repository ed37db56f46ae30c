use nn::network;

network! {
    pub struct Net { Linear(784, 256) -> ReLU -> Linear(128, 10) }
}

fn main() {}
