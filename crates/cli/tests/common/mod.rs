//! What the tool's tests share: running the real binary, its output as text, paths as
//! arguments, and a seeded generator whose seed a failing run prints for replay.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The binary under test.
pub const TOOL: &str = env!("CARGO_BIN_EXE_service-lifecycle");

/// Runs the tool with `args` (the store variable cleared, so only `--store` names a store).
pub fn tool(args: &[&str]) -> Output {
    Command::new(TOOL)
        .args(args)
        .env_remove("SERVICE_LIFECYCLE_STORE")
        .output()
        .expect("the tool runs")
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A temporary path as an argument.
pub fn path(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 temporary path")
}

/// SplitMix64 from the seed in `variable` (printed), or from the clock.
pub struct Rng(u64);

impl Rng {
    /// The generator of the seed in `variable`, or of a seed from the clock; prints it.
    pub fn from_env(variable: &str) -> Self {
        let seed = std::env::var(variable)
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(7, |elapsed| elapsed.as_nanos() as u64)
            });
        println!("{variable}={seed}");
        Self(seed)
    }

    /// A number in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound.max(1)
    }
}

/// Copies the directory `from` (recursively) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
