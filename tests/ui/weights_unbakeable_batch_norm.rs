use nn::network;

// A batch norm freezes to a scale and shift derived from four tensors: no file holds them.
network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> BatchNorm1d(3) -> Linear(3, 2)
    }
}

fn main() {}
