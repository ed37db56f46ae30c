use nn::network;

network! {
    pub struct Net { Conv2d(1, 6, 5) -> ReLU }
}

fn main() {}
