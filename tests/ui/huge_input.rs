use nn::network;

network! {
    pub struct Big { input: [65536, 65536, 2], Flatten -> Linear(_, 2) }
}

fn main() {}
