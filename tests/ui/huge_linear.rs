use nn::network;

network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Huge { Linear(1000000, 1000000) }
}

fn main() {}
