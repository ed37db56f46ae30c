use nn::network;

network! {
    pub struct Net {
        input: [16, 8, 8],
        Residual(
            Conv2d(16, 32, 3, stride = 2, padding = 1) -> ReLU,
            shortcut = Conv2d(16, 32, 1)
        )
    }
}

fn main() {}
