use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> Dropout(1.0) -> Linear(8, 2) }
}

fn main() {}
