use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> hidden: 8 -> Linear(8, 2) }
}

fn main() {}
