use nn::network;

network! {
    pub struct Encoder { Linear(6, 4) -> Tanh }
}

network! {
    pub struct Outer { Linear(3, 6) -> Encoder(4) -> Linear(4, 2) }
}

fn main() {}
