//! The kill -9 soak: a child process trains and checkpoints in a loop and is killed
//! (SIGKILL) at random moments, again and again. After every kill the checkpoint loads
//! and holds the last completed save, and no temporary file of a killed save survives
//! the next save. And two processes saving one path leave one whole model.
//!
//! `cargo test --test checkpoint_soak` kills 30 times (a few seconds); the long run
//! `NN_SOAK_KILLS=200 cargo test --release --test checkpoint_soak -- --nocapture` kills
//! as often as asked and prints the figures. The child is this test binary itself,
//! started with `NN_SOAK_CHILD` naming the checkpoint directory.

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeSet;
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nn::data::Dataset;
use nn::ndarray::{Array1, Array2};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};
use nn::train::{Progress, Trainer};

network! {
    /// A small classifier, so that a save is a good share of each epoch.
    pub struct Soaked { Linear(8, 32) -> ReLU -> Linear(32, 4) }
}

const CHILD: &str = "NN_SOAK_CHILD";
const SAVER: &str = "NN_SOAK_SAVER";
const KILLS: &str = "NN_SOAK_KILLS";
const DEFAULT_KILLS: usize = 30;

fn data() -> Dataset<f32, nn::ndarray::Ix2> {
    let mut rng = StdRng::seed_from_u64(1);
    let labels = Array1::from_shape_fn(32, |i| i % 4);
    let inputs = Array2::from_shape_fn((32, 8), |(i, j)| if j == labels[i] { 2.0 } else { 0.0 } + rng.random::<f32>());
    Dataset::new(inputs, labels).unwrap()
}

/// The trainer of the soak: the same in the child and in the parent's checks.
fn trainer(path: &Path) -> Trainer<f32, Soaked<f32>, Adam<f32>, CrossEntropyLoss> {
    let model = Soaked::init(&mut StdRng::seed_from_u64(0));
    Trainer::new(model, Adam::new(0.01), CrossEntropyLoss::new())
        .batch_size(8)
        .seed(5)
        .checkpoint(path)
        .progress(Progress::Silent)
}

/// A fingerprint of the model's weights, bit for bit.
fn fingerprint(model: &Soaked<f32>) -> u64 {
    let mut hasher = DefaultHasher::new();
    model.visit(&mut |name, entry| {
        if let nn::Entry::Param { value, .. } = entry {
            name.hash(&mut hasher);
            value.iter().for_each(|v| v.to_bits().hash(&mut hasher));
        }
    });
    hasher.finish()
}

/// The child: resumes from the checkpoint if there is one, then trains one epoch at a
/// time, each ending in a checkpoint, and prints `saved <epochs> <fingerprint>` after
/// each save has returned. It never stops by itself.
fn child(dir: &Path) -> ! {
    let path = dir.join("run.safetensors");
    let mut trainer = trainer(&path);
    if path.exists() {
        trainer = trainer.resume(&path).unwrap();
    }
    let train = data();
    loop {
        let epochs = trainer.history().len() + 1;
        trainer = trainer.epochs(epochs);
        trainer.fit(&train, None).unwrap();
        println!("saved {epochs} {}", fingerprint(trainer.model()));
    }
}

/// The fingerprint after training to `epochs` epochs from the checkpoint `start`
/// (from scratch if `None`), as the child does.
fn trained_from(start: Option<&[u8]>, epochs: usize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let mut trainer = trainer(&path);
    if let Some(bytes) = start {
        fs::write(&path, bytes).unwrap();
        trainer = trainer.resume(&path).unwrap();
    }
    let mut trainer = trainer.epochs(epochs);
    trainer.fit(&data(), None).unwrap();
    fingerprint(trainer.model())
}

/// Temporary files of the checkpoint in `dir`.
fn temporaries(dir: &Path) -> BTreeSet<PathBuf> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".run.safetensors.tmp-"))
        .collect()
}

/// `(epochs, fingerprint)` of a `saved` line (the first may follow the harness's
/// `test kill_9_soak ... ` on the same line).
fn parse_saved(line: &str) -> Option<(usize, u64)> {
    let mut words = line.split_once("saved ")?.1.split(' ');
    Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
}

#[test]
fn kill_9_soak() {
    if let Some(dir) = std::env::var_os(CHILD) {
        child(Path::new(&dir));
    }
    let kills: usize = std::env::var(KILLS).map_or(DEFAULT_KILLS, |k| k.parse().expect("NN_SOAK_KILLS is a count"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("run.safetensors");
    let mut rng = StdRng::seed_from_u64(13);
    let mut last_reported: Option<(usize, u64)> = None;
    let (mut stale, mut mid_save_kills, mut unreported, mut saves) = (BTreeSet::new(), 0, 0, 0);
    // The checkpoint each child starts from (`None` before the first save).
    let mut start: Option<Vec<u8>> = None;
    let started = Instant::now();
    for kill in 0..kills {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args(["kill_9_soak", "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let (lines, received) = mpsc::channel();
        let stdout = process.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Some(saved) = parse_saved(&line.unwrap()) else { continue };
                if lines.send(saved).is_err() {
                    break;
                }
            }
        });
        // Kill after 0 to 150 ms: before the first save, mid-epoch, or mid-save.
        let deadline = Instant::now() + Duration::from_micros(rng.random_range(0..150_000));
        let mut first_save_seen = false;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(saved) = received.recv_timeout(left) else { continue };
            saves += 1;
            last_reported = Some(saved);
            if !first_save_seen {
                first_save_seen = true;
                let survivors: Vec<_> = stale.iter().filter(|p: &&PathBuf| p.exists()).collect();
                assert!(survivors.is_empty(), "kill {kill}: temporary files survived the next save: {survivors:?}");
                stale.clear();
            }
        }
        assert!(process.try_wait().unwrap().is_none(), "kill {kill}: the child stopped by itself");
        process.kill().unwrap(); // SIGKILL on Unix
        process.wait().unwrap();
        reader.join().unwrap();
        while let Ok(saved) = received.try_recv() {
            saves += 1;
            last_reported = Some(saved);
        }

        let left_behind = temporaries(dir.path());
        mid_save_kills += usize::from(!left_behind.is_empty());
        stale.extend(left_behind);
        let found = path.exists().then(|| {
            let resumed = trainer(&path).resume(&path).unwrap_or_else(|e| panic!("kill {kill}: {e}"));
            (resumed.history().len(), fingerprint(resumed.model()))
        });
        match (last_reported, found) {
            (None, None) => {}
            (reported, Some(found)) if reported == Some(found) => {}
            (reported, Some(found)) if found.0 == reported.map_or(1, |(epochs, _)| epochs + 1) => {
                // The save after the last reported one completed, but its line was not printed:
                // it must hold what training on from the child's starting point gives.
                let expected = trained_from(start.as_deref(), found.0);
                assert_eq!(found.1, expected, "kill {kill}: the unreported save is not the trained model");
                unreported += 1;
                last_reported = Some(found);
            }
            (reported, found) => panic!("kill {kill}: the checkpoint holds {found:?}, the last save was {reported:?}"),
        }
        start = fs::read(&path).ok();
    }
    let (epochs, _) = last_reported.expect("at least one save completed");
    eprintln!(
        "kill -9 soak: {kills} kills in {:.1} s, {saves} reported saves, {epochs} epochs in the checkpoint; \
         {mid_save_kills} kills left a temporary file, every one removed by the next save; \
         {unreported} kills fell between a completed save and its report; every checkpoint loaded",
        started.elapsed().as_secs_f64()
    );
}

/// Two processes saving different models to one path, 100 times each, leave a file that
/// is one of the two models, and no temporary file.
#[test]
fn two_processes_saving_one_path_leave_one_of_the_models() {
    let model = |seed: u64| Soaked::<f32>::init(&mut StdRng::seed_from_u64(seed));
    if let (Ok(seed), Some(dir)) = (std::env::var(SAVER), std::env::var_os(CHILD)) {
        let model = model(seed.parse().unwrap());
        (0..100).for_each(|_| model.save(Path::new(&dir).join("run.safetensors")).unwrap());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let savers: Vec<_> = [1u64, 2]
        .iter()
        .map(|seed| {
            Command::new(std::env::current_exe().unwrap())
                .args(["two_processes_saving_one_path_leave_one_of_the_models", "--exact"])
                .env(SAVER, seed.to_string())
                .env(CHILD, dir.path())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut saver in savers {
        assert!(saver.wait().unwrap().success(), "a saver failed");
    }
    let loaded = fingerprint(&Soaked::<f32>::load(dir.path().join("run.safetensors")).unwrap());
    assert!([model(1), model(2)].iter().any(|m| fingerprint(m) == loaded), "the file is neither model");
    assert!(temporaries(dir.path()).is_empty(), "{:?}", temporaries(dir.path()));
}
