//! Shared by the benches: criterion settings, a suite that keeps every case's routine
//! and the samples criterion measured, and the table of each case's ratio to its floor
//! or baseline, printed after criterion's run.
//!
//! Two ratios per row, both from this process:
//! - criterion: the least-squares slope (through the origin) of each case's measurement
//!   samples — the estimate criterion prints — divided one by the other;
//! - paired: the two routines run again in alternating blocks of about 5 ms
//!   (`A B B A A B …`), one ratio per round; the median and quartiles over the rounds.
//!   A load that changes during the run moves both sides of each round together;
//! - best: the fastest block of each routine in the paired run, one over the other.
//!   Other processes only ever add time, so on a shared machine this is the ratio least
//!   disturbed by them (it needs one undisturbed block of each).

use std::time::{Duration, Instant};

use criterion::Criterion;
use nn::ndarray::linalg::general_mat_mul;
use nn::ndarray::{ArrayView2, ArrayViewMut2};

/// `c = alpha · a b + beta · c` for views of any strides: what a GEMM floor runs on,
/// `nn::gemm::matmul`, [`matrixmultiply`] or [`gemm_crate`].
pub type Product = fn(f32, &ArrayView2<f32>, &ArrayView2<f32>, f32, &mut ArrayViewMut2<f32>);

/// [`Product`] through matrixmultiply (ndarray's `general_mat_mul`), to compare with `gemm`.
pub fn matrixmultiply(alpha: f32, a: &ArrayView2<f32>, b: &ArrayView2<f32>, beta: f32, c: &mut ArrayViewMut2<f32>) {
    general_mat_mul(alpha, a, b, beta, c);
}

/// [`Product`] through the `gemm` crate, one thread, as `nn::gemm` called it before it
/// had its own packed kernels: the library to compare with.
pub fn gemm_crate(alpha: f32, a: &ArrayView2<f32>, b: &ArrayView2<f32>, beta: f32, c: &mut ArrayViewMut2<f32>) {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert!(b.nrows() == k && c.dim() == (m, n), "shapes do not chain");
    let (a_s, b_s, c_s) = (a.strides().to_vec(), b.strides().to_vec(), c.strides().to_vec());
    // SAFETY: the pointers and strides describe the three views, whose shapes chain
    // (checked above); `c` is borrowed mutably, so it aliases neither `a` nor `b`. The
    // crate computes `dst = alpha·dst + beta·lhs·rhs`: its alpha is our beta.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_s[1],
            c_s[0],
            beta != 0.0,
            a.as_ptr(),
            a_s[1],
            a_s[0],
            b.as_ptr(),
            b_s[1],
            b_s[0],
            beta,
            alpha,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Samples per case: few enough that the whole bench stays short.
pub const SAMPLE_SIZE: usize = 30;
/// Rounds of the paired measurement.
const PAIRED_ROUNDS: usize = 61;
/// Target length of one timed block of the paired measurement.
const PAIRED_BLOCK: Duration = Duration::from_millis(5);

/// Criterion with settings that keep the run modest (about 4 s per case).
pub fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(SAMPLE_SIZE)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

/// One benchmarked routine and the `(iterations, elapsed)` of every call criterion made.
struct Case<'a> {
    id: String,
    routine: Box<dyn FnMut() + 'a>,
    samples: Vec<(u64, Duration)>,
}

impl Case<'_> {
    /// Wall time of `iters` calls of the routine.
    fn time(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            (self.routine)();
        }
        start.elapsed()
    }
}

/// The cases of one criterion group, kept after criterion's run for the ratio table.
pub struct Suite<'a> {
    group: String,
    cases: Vec<Case<'a>>,
    load_before: String,
}

impl<'a> Suite<'a> {
    /// An empty suite whose cases criterion reports as `<group>/<id>`.
    pub fn new(group: &str) -> Self {
        Suite { group: group.to_owned(), cases: Vec::new(), load_before: String::new() }
    }

    /// Adds a case: one call of `routine` is one iteration.
    pub fn case(&mut self, id: &str, routine: impl FnMut() + 'a) {
        self.cases.push(Case { id: id.to_owned(), routine: Box::new(routine), samples: Vec::new() });
    }

    /// Runs every case under criterion (its filter arguments apply) and records the samples.
    pub fn run(&mut self, criterion: &mut Criterion) {
        self.load_before = load_average();
        let mut group = criterion.benchmark_group(&self.group);
        for case in &mut self.cases {
            let Case { id, routine, samples } = case;
            group.bench_function(id.as_str(), |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        routine();
                    }
                    let elapsed = start.elapsed();
                    samples.push((iters, elapsed));
                    elapsed
                })
            });
        }
        group.finish();
    }

    /// The index of case `id`, if criterion ran it.
    fn measured(&self, id: &str) -> Option<usize> {
        self.cases.iter().position(|case| case.id == id && !case.samples.is_empty())
    }

    /// Criterion's estimate of one iteration of case `index` in nanoseconds: the
    /// least-squares slope (through the origin) of its last `SAMPLE_SIZE` samples, which
    /// are the measurement samples (warm-up calls come first).
    fn slope_ns(&self, index: usize) -> f64 {
        let all = &self.cases[index].samples;
        let measured = &all[all.len().saturating_sub(SAMPLE_SIZE)..];
        let (xy, xx) = measured.iter().fold((0.0, 0.0), |(xy, xx), &(iters, elapsed)| {
            let x = iters as f64;
            (xy + x * elapsed.as_nanos() as f64, xx + x * x)
        });
        xy / xx
    }

    /// Case `a` over case `b`, timed back to back in blocks of about `PAIRED_BLOCK`:
    /// the quartiles `[q1, median, q3]` of the per-round ratios, and the ratio of the
    /// fastest blocks.
    fn paired(&mut self, a: usize, b: usize) -> ([f64; 3], f64) {
        let iters = |ns: f64| (PAIRED_BLOCK.as_nanos() as f64 / ns).ceil().max(1.0) as u64;
        let (iters_a, iters_b) = (iters(self.slope_ns(a)), iters(self.slope_ns(b)));
        let (mut best_a, mut best_b) = (f64::INFINITY, f64::INFINITY);
        let mut ratios: Vec<f64> = (0..PAIRED_ROUNDS)
            .map(|round| {
                let (time_a, time_b) = if round % 2 == 0 {
                    let time_a = self.cases[a].time(iters_a);
                    (time_a, self.cases[b].time(iters_b))
                } else {
                    let time_b = self.cases[b].time(iters_b);
                    (self.cases[a].time(iters_a), time_b)
                };
                let (per_a, per_b) = (time_a.as_secs_f64() / iters_a as f64, time_b.as_secs_f64() / iters_b as f64);
                (best_a, best_b) = (best_a.min(per_a), best_b.min(per_b));
                per_a / per_b
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        let quantile = |q: f64| ratios[((ratios.len() - 1) as f64 * q).round() as usize];
        ([quantile(0.25), quantile(0.5), quantile(0.75)], best_a / best_b)
    }

    /// Prints one row per `(case, reference)` pair that criterion ran: both times, the
    /// ratio of criterion's estimates, the paired ratio and the ratio of the best blocks.
    pub fn print_table(&mut self, title: &str, rows: &[(&str, &str)]) {
        let mut table = vec![
            format!("\n{title}"),
            "| case | time | reference | reference time | ratio | paired: median [q1, q3] | best |".to_owned(),
            "|---|---:|---|---:|---:|---:|---:|".to_owned(),
        ];
        for &(case, reference) in rows {
            let (Some(a), Some(b)) = (self.measured(case), self.measured(reference)) else { continue };
            let (time_a, time_b) = (self.slope_ns(a), self.slope_ns(b));
            let ([q1, median, q3], best) = self.paired(a, b);
            table.push(format!(
                "| {case} | {} | {reference} | {} | {:.2}x | {median:.2}x [{q1:.2}, {q3:.2}] | {best:.2}x |",
                human(time_a),
                human(time_b),
                time_a / time_b
            ));
        }
        println!("{}", table.join("\n"));
        println!("{}", environment(&self.load_before));
    }
}

/// A nanosecond count as criterion writes it.
fn human(ns: f64) -> String {
    match ns {
        ns if ns < 1e3 => format!("{ns:.1} ns"),
        ns if ns < 1e6 => format!("{:.2} µs", ns / 1e3),
        ns => format!("{:.3} ms", ns / 1e6),
    }
}

/// The 1-, 5- and 15-minute load averages.
fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

/// What the numbers depend on: the machine, its load, what the code was compiled for,
/// and which `nn::gemm` kernel ran.
fn environment(load_before: &str) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    // x86 names its model; Arm Linux gives the implementer and part numbers only.
    let field = |name: &str| {
        cpuinfo.lines().find_map(|line| Some(line.strip_prefix(name)?.trim_start_matches([' ', '\t', ':'])))
    };
    let cpu = match (field("model name"), field("CPU implementer"), field("CPU part")) {
        (Some(model), _, _) => model.to_owned(),
        (None, Some(implementer), Some(part)) => format!("Arm CPU implementer {implementer} part {part}"),
        _ => "unknown CPU".to_owned(),
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let compiled: Vec<&str> = [
        ("avx512f", cfg!(target_feature = "avx512f")),
        ("avx2", cfg!(target_feature = "avx2")),
        ("fma", cfg!(target_feature = "fma")),
        ("neon", cfg!(target_feature = "neon")),
    ]
    .into_iter()
    .filter_map(|(name, on)| on.then_some(name))
    .collect();
    let compiled =
        if compiled.is_empty() { format!("baseline {}", std::env::consts::ARCH) } else { compiled.join("+") };
    let kernel = nn::gemm::kernel();
    let chosen = match std::env::var("NN_GEMM_KERNEL") {
        Ok(_) => "forced by NN_GEMM_KERNEL",
        Err(_) => "the fastest this CPU runs",
    };
    format!(
        "{cpu}, {cores} cores; load average {load_before} before the run, {} after; compiled for {compiled}; \
         nn::gemm kernel {kernel} ({chosen})",
        load_average()
    )
}
