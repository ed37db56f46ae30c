use nn::network;

network! {
    pub struct Net { Linear(4, 2) }
}

fn main() {
    let frozen = Net::<f32>::init(&mut <nn::rand::rngs::StdRng as nn::rand::SeedableRng>::seed_from_u64(0)).freeze();
    let _ = frozen.infer(&[0.0; 3]);
}
