use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> Residual -> Linear(8, 2) }
}

fn main() {}
