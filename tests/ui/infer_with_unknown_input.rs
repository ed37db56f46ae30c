use nn::network;

network! {
    pub struct Net { Linear(in_features = _, out_features = 8) }
}

fn main() {}
