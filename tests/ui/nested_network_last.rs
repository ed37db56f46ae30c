use nn::network;

network! {
    pub struct Encoder { Linear(6, 4) -> Tanh }
}

network! {
    pub struct Outer { Linear(3, 6) -> enc: Encoder }
}

fn main() {}
