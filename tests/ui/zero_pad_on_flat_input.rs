use nn::network;

network! {
    pub struct Padded { Linear(4, 4) -> ZeroPad2d(1, 1, 1, 1) }
}

fn main() {}
