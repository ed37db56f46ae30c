use nn::network;

network! {
    pub struct Net { input: [3, 8, 8], Conv2d(3, 4, 3) -> BatchNorm2d(4, momentum = 1.5) -> Flatten }
}

fn main() {}
