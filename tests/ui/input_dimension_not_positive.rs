use nn::network;

network! {
    pub struct Net { input: [0, 8, 8], Flatten -> Linear(64, 2) }
}

fn main() {}
