use nn::network;

network! {
    pub struct Net { Linear(4, 16) -> Conv2d(1, 2, 3) }
}

fn main() {}
