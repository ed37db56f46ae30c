use nn::network;

network! {
    pub struct Net { Linear(4, 8, bias = 1) }
}

fn main() {}
