use nn::network;

// An int8 weight file that breaks one rule (tests/ui/fixtures/make_fixtures.py).
network! {
    #[weights = "tests/ui/fixtures/tiny_int8_zero_point.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> ReLU -> Linear(3, 2)
    }
}

fn main() {}
