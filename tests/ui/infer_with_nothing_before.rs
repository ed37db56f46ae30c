use nn::network;

network! {
    pub struct Net { Linear(_, 8) -> ReLU }
}

fn main() {}
