use nn::network;

// The file also holds a second Linear (2.weight, 2.bias) that this network lacks.
network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU
    }
}

fn main() {}
