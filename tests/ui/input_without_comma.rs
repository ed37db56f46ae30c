use nn::network;

network! {
    pub struct Net { input: [1, 4, 4] Flatten -> Linear(16, 2) }
}

fn main() {}
