use nn::network;

network! {
    pub struct Net { -> Linear(4, 2) }
}

fn main() {}
