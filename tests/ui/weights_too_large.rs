use nn::network;

network! {
    #[weights = "tests/ui/fixtures/tiny.safetensors"]
    pub struct Wide { Linear(16384, 8192) }
}

fn main() {}
