use nn::network;

network! {
    pub struct Net { input: [1, 49, 10], Conv2d(1, 8, (10, 12), padding = (5, 0)) }
}

fn main() {}
