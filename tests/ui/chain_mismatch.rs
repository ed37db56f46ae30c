use nn::rand::{rngs::StdRng, SeedableRng};
use nn::{network, Chain};

network! {
    pub struct Encoder { Linear(6, 4) -> Tanh }
}

network! {
    pub struct Head { Linear(5, 2) }
}

fn main() {
    let mut rng = StdRng::seed_from_u64(0);
    let _ = Chain::new(Encoder::<f32>::init(&mut rng), Head::<f32>::init(&mut rng));
}
