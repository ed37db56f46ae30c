use nn::network;

network! {
    pub struct Head {
        Linear(3, 2)
    }
}

// A nested network freezes to its own `HeadFrozen`, not to tensors of the file.
network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Head -> Linear(2, 1)
    }
}

fn main() {}
