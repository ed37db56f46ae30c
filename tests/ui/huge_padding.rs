use nn::network;

network! {
    pub struct Padded { input: [1, 4, 4], Conv2d(1, 1, 3, padding = 18446744073709551615) -> Flatten }
}

fn main() {}
