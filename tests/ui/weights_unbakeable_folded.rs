use nn::network;

// A batch norm right after a Linear is folded into it: the frozen weight and bias are
// computed from both layers' tensors, which no file holds.
network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> BatchNorm1d(3) -> ReLU -> Linear(3, 2)
    }
}

fn main() {}
