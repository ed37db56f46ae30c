use nn::network;

// The file holds layers 0 and 2 only: layer 4's weight and bias are missing.
network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Linear(3, 2) -> ReLU -> Linear(2, 1)
    }
}

fn main() {}
