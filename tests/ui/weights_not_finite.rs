use nn::network;

network! {
    #[weights = "tests/ui/fixtures/nan.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Linear(3, 2)
    }
}

fn main() {}
