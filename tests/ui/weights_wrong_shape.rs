use nn::network;

// The file's second Linear has 2 outputs, not 5.
network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Linear(3, 5)
    }
}

fn main() {}
