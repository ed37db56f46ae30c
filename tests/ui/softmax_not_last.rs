use nn::network;

network! {
    pub struct Net { Linear(4, 8) -> Softmax -> Linear(8, 2) }
}

fn main() {}
