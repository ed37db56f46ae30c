use nn::network;

network! {
    pub struct Padded { input: [1, 4, 4], ZeroPad2d(1, 2) -> Flatten }
}

fn main() {}
