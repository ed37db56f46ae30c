use nn::network;

network! {
    pub struct Net { Linear(4, 0) }
}

fn main() {}
