use nn::network;

// The file is float64; a baked model is f32.
network! {
    #[weights = "tests/ui/fixtures/tiny_f64.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Linear(3, 2)
    }
}

fn main() {}
