use nn::network;

network! {
    pub struct Net {}
}

fn main() {}
