use nn::network;

network! {
    pub struct Net { Linear(4, 2) } Linear(2, 2)
}

fn main() {}
