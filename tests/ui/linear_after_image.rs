use nn::network;

network! {
    pub struct Net { input: [1, 8, 8], Conv2d(1, 2, 3) -> ReLU -> Linear(72, 10) }
}

fn main() {}
