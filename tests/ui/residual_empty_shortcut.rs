use nn::network;

network! {
    pub struct Net { Linear(4, 4) -> Residual(Linear(4, 4), shortcut = ) }
}

fn main() {}
