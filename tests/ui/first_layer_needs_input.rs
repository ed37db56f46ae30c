use nn::network;

network! {
    pub struct Net { ReLU -> Linear(4, 2) }
}

fn main() {}
