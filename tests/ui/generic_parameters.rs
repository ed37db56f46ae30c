use nn::network;

network! {
    pub struct Net<F> { Linear(4, 2) }
}

fn main() {}
