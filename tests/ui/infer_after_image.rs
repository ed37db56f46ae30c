use nn::network;

network! {
    pub struct Net { input: [2, 6, 6], BatchNorm2d(_) -> Linear(_, 10) }
}

fn main() {}
