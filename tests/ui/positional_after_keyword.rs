use nn::network;

network! {
    pub struct Net { Linear(4, bias = false, 2) }
}

fn main() {}
