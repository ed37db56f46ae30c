use nn::network;

network! {
    pub struct Net {
        input: [1, 8, 8],
        Conv2d(1, 4, 3, padding = 1.5) -> LeakyReLU(true) -> Flatten -> Linear(2.5, 2)
    }
}

fn main() {}
