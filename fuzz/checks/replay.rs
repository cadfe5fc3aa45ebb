//! Replays a committed fuzz corpus (`fuzz/corpus/<target>/`) through a target's check, plus a
//! few deterministic mutations of every input (a changed byte, a cut, a repeated piece), as an
//! ordinary test: what the fuzzers found stays checked by every `cargo test`, on every
//! toolchain. Shared by the crates' `tests/fuzz_corpus.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Runs `check` on every input of `fuzz/corpus/<target>/` and on `mutants` mutations of each.
/// A failing input is written to the test's temporary directory and named in the panic.
pub fn corpus(target: &str, mutants: usize, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    for (n, file) in files.iter().enumerate() {
        let input = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        one(target, &file.display().to_string(), &input, check);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (n as u64 + 1));
        for m in 0..mutants {
            let mutant = mutate(&input, &mut rng);
            one(
                target,
                &format!("mutation {m} of {}", file.display()),
                &mutant,
                check,
            );
        }
    }
}

fn one(target: &str, what: &str, input: &[u8], check: fn(&[u8])) {
    if catch_unwind(AssertUnwindSafe(|| check(input))).is_err() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("fuzz-failures")
            .join(target);
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join(format!("input-{:016x}", fnv(input)));
        let _ = std::fs::write(&path, input);
        panic!(
            "fuzz target {target} fails on {what}; the input is in {} (replay it with the libFuzzer target: scripts/fuzz.sh builds fuzz/target/stable/<triple>/release/{target})",
            path.display()
        );
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Bytes that matter to the decoders: JSON and TOML punctuation, digits, NUL, high bytes.
const INTERESTING: &[u8] = b"{}[]\":,=\\.-+0179eE \n\0\xff/#\x7f";

fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut v = input.to_vec();
    let len = v.len();
    match rng.below(5) {
        0 if len > 0 => {
            let i = rng.below(len);
            v[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        1 if len > 0 => {
            let i = rng.below(len);
            v[i] ^= 1 << rng.below(8);
        }
        2 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(8)).min(len);
            v.drain(start..end);
        }
        3 if len > 0 => {
            let start = rng.below(len);
            let end = (start + 1 + rng.below(16)).min(len);
            let piece = v[start..end].to_vec();
            let at = rng.below(len + 1);
            v.splice(at..at, piece);
        }
        _ => v.truncate(rng.below(len + 1)),
    }
    v
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}
