use nn::network;

network! {
    #[weights = models::tiny]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Linear(3, 2)
    }
}

fn main() {}
