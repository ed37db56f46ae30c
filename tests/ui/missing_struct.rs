use nn::network;

network! {
    Net { Linear(4, 8) }
}

fn main() {}
