use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> 5 }
}

fn main() {}
