use nn::network;

network! {
    pub struct Net { input: [1, 4, 4], Conv2d(1, 6, 5) }
}

fn main() {}
