use nn::network;

network! {
    pub struct Net { input: [1, 6, 6], Conv2d(1, 2, 3) -> MaxPool2d(5) }
}

fn main() {}
