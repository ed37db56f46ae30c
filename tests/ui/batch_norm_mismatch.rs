use nn::network;

network! {
    pub struct Net { input: [3, 8, 8], Conv2d(3, 4, 3) -> BatchNorm2d(3) }
}

fn main() {}
