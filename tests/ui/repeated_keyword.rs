use nn::network;

network! {
    pub struct Net { Linear(4, 8, bias = false, bias = true) }
}

fn main() {}
