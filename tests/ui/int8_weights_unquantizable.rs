use nn::network;

// A well-formed int8 file, but Sigmoid has no int8 form.
network! {
    #[weights = "tests/ui/fixtures/tiny_int8.safetensors"]
    pub struct Tiny {
        Linear(4, 3) -> Sigmoid -> Linear(3, 2)
    }
}

fn main() {}
