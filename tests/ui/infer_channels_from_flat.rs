use nn::network;

network! {
    pub struct Net { Linear(4, 16) -> Conv2d(_, 4, 3) }
}

fn main() {}
