use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> Linear(8, bias = false) }
}

fn main() {}
