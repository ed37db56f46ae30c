use nn::network;

network! {
    pub struct Net { Linear(4, 8) ReLU }
}

fn main() {}
