use nn::network;

network! {
    pub struct Net { input: [6, 8, 8], Conv2d(6, 9, 3, groups = 4) }
}

network! {
    pub struct Depthwise { input: [6, 8, 8], Conv2d(6, 9, 3, groups = 6) }
}

fn main() {}
