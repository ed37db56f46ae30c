use nn::network;

network! {
    pub struct Net { Linear(784) -> ReLU }
}

fn main() {}
