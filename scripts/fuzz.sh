#!/usr/bin/env bash
# Coverage-guided fuzzing of lumi's decoders with libFuzzer on the stable toolchain, without
# cargo-fuzz: the targets in fuzz/ are built with plain `cargo build` and the instrumentation
# flags cargo-fuzz would pass (see scripts/fuzz-rustc), then each runs for SECONDS (default
# 10), one after the other, starting from its committed corpus fuzz/corpus/<target>/.
#
#   scripts/fuzz.sh                      # every target, 10 s each (what CI runs)
#   scripts/fuzz.sh 300 mqtt_command     # one target, five minutes
#   FUZZ_UPDATE_CORPUS=1 scripts/fuzz.sh 300 config
#                                        # and merge what it found into fuzz/corpus/config,
#                                        # minimised (libFuzzer -set_cover_merge=1 on edge
#                                        # coverage), to commit
#
# New inputs of a run go to a temporary directory, so the committed corpus changes only with
# FUZZ_UPDATE_CORPUS=1. A crash, panic, timeout (FUZZ_TIMEOUT seconds per input, default 10)
# or out-of-memory fails the script; the input is kept in fuzz/artifacts/<target>/ and the
# output says where and how to replay it. Extra libFuzzer options: FUZZ_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs=10
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
all=$(sed -n 's/^name = "\([a-z_0-9]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^lumi-fuzz$' || true)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  mapfile -t targets <<<"$all"
fi
for t in "${targets[@]}"; do
  if ! grep -qx "$t" <<<"$all"; then
    echo "fuzz.sh: no target $t (targets: $(echo $all))" >&2
    exit 2
  fi
done

triple=$(rustc -vV | sed -n 's/^host: //p')
target_dir=${FUZZ_TARGET_DIR:-$root/fuzz/target/stable}
bin_dir=$target_dir/$triple/release

echo "== fuzz: building ${#targets[@]} target(s) (libFuzzer, stable $(rustc --version | cut -d' ' -f2))"
start=$SECONDS
# Instrumented (scripts/fuzz-rustc): lumi's crates that the targets run, the targets, and the
# JSON/TOML parsers that read their input. lumi-client, tokio, rustls, axum and the rest are
# linked in by lumi-bridge but never run by a target: built without optimisation or debug
# info, which keeps the build near a minute on two cores (over two with every crate
# instrumented, as cargo-fuzz does). Opt-level 1 for the code that runs: as fast to fuzz here
# as 3, and quicker to build.
instrumented="lumi-fuzz lumi-proto lumi-bridge lumi-sim serde_json toml toml_parser"
opt=${FUZZ_OPT_LEVEL:-1}
config=(--config 'profile.release.debug="line-tables-only"' --config "profile.release.opt-level=$opt"
  --config 'profile.release.package."*".opt-level=0' --config 'profile.release.package."*".debug=false')
for p in lumi-proto lumi-bridge lumi-sim serde_json toml toml_parser aes cbc md-5; do
  config+=(--config "profile.release.package.$p.opt-level=$opt")
done
for p in lumi-proto lumi-bridge lumi-sim; do
  config+=(--config "profile.release.package.$p.debug=\"line-tables-only\"")
done
# libFuzzer's own C++ runtime.
config+=(--config 'profile.release.package.libfuzzer-sys.opt-level=3')
# --target keeps the instrumentation away from build scripts and proc macros.
RUSTC_WRAPPER="$root/scripts/fuzz-rustc" LUMI_FUZZ_INSTRUMENT="$instrumented" \
  cargo build --manifest-path fuzz/Cargo.toml --locked --release --target "$triple" \
    --target-dir "$target_dir" "${config[@]}" $(printf -- '--bin %s ' "${targets[@]}")
echo "built in $((SECONDS - start)) s"

failed=()
for t in "${targets[@]}"; do
  corpus=$root/fuzz/corpus/$t
  artifacts=$root/fuzz/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  work=$(mktemp -d)
  log=$work.log
  set +e
  # shellcheck disable=SC2086
  "$bin_dir/$t" "$work" "$corpus" -max_total_time="$secs" -timeout="${FUZZ_TIMEOUT:-10}" \
    -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 ${FUZZ_ARGS:-} \
    >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  new=$(find "$work" -type f | wc -l)
  if [[ $rc -ne 0 ]]; then
    echo "-- $t: FAILED (exit $rc) after ${runs:-?} runs; the end of libFuzzer's output:"
    tail -n 60 "$log"
    grep -a -A2 'panicked at' "$log" | head -n 6 | sed 's/^/   /' || true
    unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "-- $t: the failing input is ${unit:-in $artifacts/ (see above)}"
    echo "   replay it: $bin_dir/$t ${unit:-$artifacts/<file>}"
    echo "   (or copy it into fuzz/corpus/$t/ and run the crate's fuzz_corpus test)"
    failed+=("$t")
  else
    echo "-- $t: ok, ${runs:-?} runs in ${secs} s, ${cov:-cov: ?}, $(find "$corpus" -type f | wc -l) corpus + $new new inputs"
    if [[ ${FUZZ_UPDATE_CORPUS:-0} = 1 ]]; then
      merged=$(mktemp -d)
      "$bin_dir/$t" -set_cover_merge=1 -use_counters=0 "$merged" "$corpus" "$work" >"$log.merge" 2>&1 \
        || { echo "merge failed:"; tail -n 20 "$log.merge"; exit 1; }
      rm -rf "$corpus"
      mkdir -p "$corpus"
      cp "$merged"/* "$corpus"/ 2>/dev/null || true
      rm -rf "$merged"
      echo "   corpus merged: $(find "$corpus" -type f | wc -l) files, $(du -sh --apparent-size "$corpus" | cut -f1)"
    fi
  fi
  rm -rf "$work" "$log" "$log.merge"
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ok in $((SECONDS - start)) s"
