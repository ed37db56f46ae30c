use nn::network;

network! {
    pub struct Net { input: [3, 8], Flatten -> Linear(24, 2) }
}

fn main() {}
