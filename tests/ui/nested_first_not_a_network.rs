use nn::network;

/// A type that was not declared with `network!`: it has no input shape to give.
pub struct Handmade;

network! {
    pub struct Net { Handmade -> Linear(4, 2) }
}

fn main() {}
