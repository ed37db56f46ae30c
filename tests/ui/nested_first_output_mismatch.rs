use nn::network;

network! {
    pub struct Encoder { Linear(6, 4) -> Tanh }
}

network! {
    pub struct Outer { Encoder -> Linear(5, 2) }
}

fn main() {}
