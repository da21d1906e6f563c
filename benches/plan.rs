//! Benchmark of a whole plan on a large load balancer: the built-in `lb` profile on a fixture
//! root with 256 online CPUs (128-255 isolated), a `/proc/interrupts` of 4,096 IRQs (about
//! 11 MB, as the kernel prints it) and two 64-queue mlx5 ports, `ens1f0np0` and `ens1f1np1`
//! (functions 0000:3b:00.0 and .1, each an async vector and 64 completion vectors, with sysfs
//! device links, `msi_irqs` and `/proc/irq/N/*_affinity_list`), plus the `/proc/sys` keys of
//! `lb` and `tcp-base` (optional ones absent).
//!
//! Times `hosttune::knobs::plan` with the `Offline` seams (rings and channels are then
//! `unsupported`; the IRQ placement reads `/proc/interrupts`), and counts through a wrapping
//! `Files` how often one plan reads `/proc/interrupts`. Prints the median plan time, the peak
//! resident memory (`VmHWM`, reset after the fixture is written) and the reads per plan.
//! Run with `cargo bench --bench plan`.
//!
//! Only `knobs::plan`, `host::{Host, RootFs, Offline, Files}` and `profile::Catalog` are
//! used, so that the figures can be taken the same way before and after a change inside the
//! library; the plan is checked through its `Debug` text.

use std::hint::black_box;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hosttune::host::{Files, Host, RootFs};
use hosttune::profile::Catalog;

#[path = "common/host.rs"]
mod host;
use host::{PORTS, QUEUES, SHAPES, write_interrupts, write_tree};

const ITERATIONS: usize = 30;

/// The root's files, counting the reads of `/proc/interrupts`.
struct Counting {
    inner: RootFs,
    interrupts: AtomicUsize,
    reads: AtomicUsize,
}

impl Files for Counting {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if path == Path::new("/proc/interrupts") {
            self.interrupts.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.read(path)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        if path == Path::new("/proc/interrupts") {
            self.interrupts.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.open_read(path)
    }
    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        self.inner.write(path, data)
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.read_link(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        self.inner.read_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn display(&self, path: &Path) -> PathBuf {
        self.inner.display(path)
    }
    fn replace(&self, path: &Path, data: &str) -> io::Result<()> {
        self.inner.replace(path, data)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.inner.remove(path)
    }
}

/// A field of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let shape = &SHAPES[0];
    let text_len = write_interrupts(shape, &root.join("proc/interrupts")).unwrap();
    write_tree(shape, &root);
    let profiles = dir.path().join("profiles"); // empty: the built-in `lb`
    std::fs::create_dir_all(&profiles).unwrap();
    let profile = Catalog::new(vec![profiles])
        .load("lb")
        .unwrap_or_else(|e| panic!("built-in lb: {e}"));

    let fs = Counting {
        inner: RootFs::new(&root),
        interrupts: AtomicUsize::new(0),
        reads: AtomicUsize::new(0),
    };
    let host = Host::offline(&fs);
    let kept = Default::default();

    // The fixture was written in pieces, but start the peak here all the same (writing 5 to
    // clear_refs resets VmHWM to the current RSS, Linux 4.0 and later): the peak is then this
    // baseline plus the most any plan holds at once.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss_before = status_kib("VmRSS:").unwrap_or(0);

    // One plan, checked: every queue IRQ of both ports placed, nothing unreadable.
    let plan = hosttune::plan::build(&profile, &host, &kept);
    let shown = format!("{plan:?}");
    let placed = shown.matches("kind: IrqAffinity").count();
    let errors = shown.matches("status: Error").count();
    assert_eq!(
        placed,
        PORTS.len() * QUEUES as usize,
        "IRQ affinity items of the lb plan; plan: {shown}"
    );
    assert_eq!(errors, 0, "error items in the lb plan: {shown}");
    let per_plan = fs.interrupts.swap(0, Ordering::Relaxed);
    let files_per_plan = fs.reads.swap(0, Ordering::Relaxed);
    drop((plan, shown));

    let mut times = Vec::with_capacity(ITERATIONS);
    for _ in 0..ITERATIONS {
        let start = Instant::now();
        let plan = hosttune::plan::build(black_box(&profile), &host, &kept);
        times.push(start.elapsed());
        black_box(plan);
    }
    let reads = fs.interrupts.load(Ordering::Relaxed);
    assert_eq!(reads, per_plan * ITERATIONS, "reads differ between plans");
    let hwm = status_kib("VmHWM:").unwrap_or(0);
    let (min, max) = (*times.iter().min().unwrap(), *times.iter().max().unwrap());
    let med = median(times);

    println!(
        "plan: built-in lb, {} CPUs (isolated {}), {} IRQs, {:.1} MB of /proc/interrupts, \
         2 x {QUEUES}-queue mlx5, {ITERATIONS} iterations",
        shape.cpus,
        shape.isolated,
        shape.irqs,
        text_len as f64 / 1e6
    );
    println!(
        "  plan time: median {:.2} ms (min {:.2}, max {:.2})",
        med.as_secs_f64() * 1e3,
        min.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "  peak memory (VmHWM): {:.1} MiB{}; RSS before the first plan {:.1} MiB",
        mib(hwm),
        if reset {
            " since the fixture was written"
        } else {
            " (could not reset it: includes the fixture's making)"
        },
        mib(rss_before)
    );
    println!(
        "  /proc/interrupts reads per plan: {per_plan} (of {files_per_plan} file reads); \
         {placed} queue IRQs placed"
    );
}
