use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> AdaptiveAvgPool2d(1) }
}

network! {
    pub struct Missing { input: [3, 8, 8], AdaptiveAvgPool2d }
}

fn main() {}
