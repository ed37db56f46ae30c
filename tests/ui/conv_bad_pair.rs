use nn::network;

network! {
    pub struct Triple { input: [1, 8, 8], Conv2d(1, 4, (3, 3, 3)) }
}

network! {
    pub struct ZeroHeight { input: [1, 8, 8], Conv2d(1, 4, (0, 3)) }
}

network! {
    pub struct FloatStride { input: [1, 8, 8], Conv2d(1, 4, 3, stride = (1, 1.5)) }
}

network! {
    pub struct BadPadding { input: [1, 8, 8], Conv2d(1, 4, 3, padding = true) }
}

fn main() {}
