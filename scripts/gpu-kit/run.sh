#!/usr/bin/env bash
# Boxed GPU kit: runs Boxed's CLI benchmark on this machine's GPU with no Node install and no network.
# Unpacks Node, the bundled CLI, Dawn and the Vulkan loader, points the loader at the GPU's Vulkan driver,
# prints the adapter and the device copy bandwidth, writes a synthetic model of the real shapes and prints
# `bench --json` for each weight format and prompt length. Every step has a timeout and the whole run a budget.
#
#   OUT=DIR ./run.sh        (outputs: DIR/probe.json, DIR/bench-*.json, DIR/summary.json, DIR/*.log)
#
# Environment (all optional):
#   OUT                  output folder (default ./gpu-kit-out)
#   BOXED_KIT_WORK       scratch folder for the unpacked runtime and the model (default ${TMPDIR:-/tmp}/boxed-gpu-kit)
#   BOXED_KIT_ICD        nvidia (default) | lavapipe | PATH of a Vulkan ICD json
#   BOXED_KIT_PRESET     synthetic model preset: full (default, the 1.5B shapes) | odd | tiny
#   BOXED_KIT_WEIGHTS    weight formats to bench (default "q4 f16")
#   BOXED_KIT_PROMPTS    prompt lengths in tokens (default "512 4096")
#   BOXED_KIT_ROWS       bench --rows (default 1,8); the bench runs without it if it does not know the flag
#   BOXED_KIT_GEN        decoded tokens per bench (default 64)
#   BOXED_KIT_BUDGET_S   seconds for the whole run (default 540); a step never runs past it
#   BOXED_KIT_COPY_MIB   buffer size of the copy-bandwidth measurement (default 256; 0 skips it)
set -uo pipefail

KIT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
START_S=$(date +%s)

log() { printf '[gpu-kit %4ss] %s\n' "$(($(date +%s) - START_S))" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Directories searched for Vulkan ICD manifests and for the NVIDIA driver's Vulkan library.
ICD_DIRS=${BOXED_KIT_ICD_DIRS:-"/usr/share/vulkan/icd.d /etc/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/etc/vulkan/icd.d"}
LIB_DIRS=${BOXED_KIT_LIB_DIRS:-"/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu/nvidia/current"}

# The first existing file matching a glob in ICD_DIRS.
find_manifest() {
  local d f
  for d in $ICD_DIRS; do
    for f in "$d"/$1; do
      [ -f "$f" ] && { echo "$f"; return 0; }
    done
  done
  return 1
}

# The NVIDIA driver's Vulkan entry library (libGLX_nvidia.so.0), from LIB_DIRS or the linker cache.
find_nvidia_lib() {
  local d
  for d in $LIB_DIRS; do
    [ -e "$d/libGLX_nvidia.so.0" ] && { echo "$d/libGLX_nvidia.so.0"; return 0; }
  done
  if [ -z "${BOXED_KIT_LIB_DIRS:-}" ] && command -v ldconfig >/dev/null; then
    ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0 / && /x86-64/ {print $NF; found=1; exit} END {exit !found}' && return 0
  fi
  return 1
}

# Prints the ICD manifest to use for $1 (nvidia | lavapipe | a path); writes one into $2 when the NVIDIA
# driver is installed without its manifest (as in containers that mount the driver's libraries only).
find_icd() {
  local kind=$1 gen_dir=$2 m lib
  case "$kind" in
    nvidia)
      if m=$(find_manifest 'nvidia_icd*.json'); then echo "$m"; return 0; fi
      if lib=$(find_nvidia_lib); then
        mkdir -p "$gen_dir"
        printf '{\n  "file_format_version": "1.0.0",\n  "ICD": { "library_path": "%s", "api_version": "1.3.0" }\n}\n' "$lib" > "$gen_dir/nvidia_icd.json"
        echo "$gen_dir/nvidia_icd.json"
        return 0
      fi
      log "no NVIDIA Vulkan driver: no nvidia_icd.json in $ICD_DIRS and no libGLX_nvidia.so.0 in $LIB_DIRS."
      log "In a container the driver's graphics libraries are mounted only with NVIDIA_DRIVER_CAPABILITIES=all (or =compute,utility,graphics)."
      return 1 ;;
    lavapipe)
      if m=$(find_manifest 'lvp_icd*.json'); then echo "$m"; return 0; fi
      log "no lavapipe ICD (lvp_icd*.json) in $ICD_DIRS (Debian: mesa-vulkan-drivers)"
      return 1 ;;
    *)
      [ -f "$kind" ] && { echo "$kind"; return 0; }
      log "BOXED_KIT_ICD=$kind: not nvidia, lavapipe or an existing file"
      return 1 ;;
  esac
}

# Whether the CLI run by "$@" has a bench that takes --rows: it refuses an unknown flag (exit 2) before
# it looks at the model, so asking costs no model load.
bench_takes_rows() {
  local out
  out=$("$@" bench --model /nonexistent-boxed-model --rows 1 2>&1)
  case "$out" in *"Unknown option '--rows'"*) return 1 ;; *) return 0 ;; esac
}

# Runs one step with a timeout that never passes the run's budget: stdout to $OUT/$name.json (.txt for
# make-model) and the terminal, stderr to $OUT/$name.log. Returns the command's status (124 on timeout).
run_step() {
  local name=$1 limit=$2; shift 2
  local file=$OUT/$name.json
  [ "$name" = make-model ] && file=$OUT/$name.txt
  local left=$((BUDGET_S - ($(date +%s) - START_S)))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 5 ]; then
    log "$name: skipped, the run's budget of ${BUDGET_S}s is spent"
    echo "skipped: budget spent" > "$OUT/$name.log"
    return 125
  fi
  log "$name (timeout ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" > "$file" 2> "$OUT/$name.log"
  local rc=$?
  [ -s "$file" ] && cat "$file"
  if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 124 ] && log "$name: timed out after ${limit}s" || log "$name: failed (exit $rc): $(tail -n 1 "$OUT/$name.log")"
  fi
  return "$rc"
}

main() {
  OUT=${OUT:-$PWD/gpu-kit-out}
  WORK=${BOXED_KIT_WORK:-${TMPDIR:-/tmp}/boxed-gpu-kit}
  BUDGET_S=${BOXED_KIT_BUDGET_S:-540}
  local icd_kind=${BOXED_KIT_ICD:-nvidia} preset=${BOXED_KIT_PRESET:-full}
  local weights=${BOXED_KIT_WEIGHTS:-"q4 f16"} prompts=${BOXED_KIT_PROMPTS:-"512 4096"}
  local rows=${BOXED_KIT_ROWS:-1,8} gen=${BOXED_KIT_GEN:-64} copy_mib=${BOXED_KIT_COPY_MIB:-256}
  mkdir -p "$OUT" "$WORK" || die "cannot create $OUT or $WORK"
  OUT=$(cd "$OUT" && pwd)

  [ "$(uname -m)" = x86_64 ] || die "this kit is for x86-64 Linux, not $(uname -m)"
  local glibc
  glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$glibc" ] && [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | head -n 1)" != 2.34 ]; then
    log "warning: glibc $glibc is older than 2.34, which Dawn's native module needs"
  fi

  # unpack the runtime once per payload
  local rt=$WORK/runtime stamp
  stamp=$(cksum < "$KIT_DIR/payload.tar.gz") || die "payload.tar.gz is missing next to run.sh"
  if [ "$(cat "$rt/.stamp" 2>/dev/null)" != "$stamp" ]; then
    log "unpacking the runtime into $rt"
    rm -rf "$rt" && mkdir -p "$rt" || die "cannot create $rt"
    tar -xzf "$KIT_DIR/payload.tar.gz" -C "$rt" || die "cannot unpack payload.tar.gz (needs tar and gzip)"
    echo "$stamp" > "$rt/.stamp"
  fi
  local node=$rt/bin/node cli=$rt/app/cli.mjs
  "$node" --version > /dev/null || die "the bundled Node does not run here"

  local icd
  icd=$(find_icd "$icd_kind" "$WORK/icd") || die "no Vulkan driver to run on"
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  export LD_LIBRARY_PATH=$rt/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  log "Vulkan driver manifest: $icd"
  command -v nvidia-smi > /dev/null && nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1

  run_step probe 60 "$node" "$rt/app/probe.mjs" --copy-mib "$copy_mib" || die "no WebGPU adapter (see $OUT/probe.log)"

  local model=$WORK/model-$preset
  if [ ! -f "$model/.complete" ]; then
    rm -rf "$model"
    run_step make-model 240 "$node" "$cli" make-model --out "$model" --preset "$preset" || die "make-model failed"
    touch "$model/.complete"
  else
    log "reusing the $preset model in $model"
  fi

  local w p name rows_known= benched=0
  for p in $prompts; do
    for w in $weights; do
      name=bench-$w-p$p
      local -a args=(bench --model "$model" --weights "$w" --prompt-tokens "$p" --gen-tokens "$gen" --json)
      if [ -z "$rows_known" ]; then
        bench_takes_rows "$node" "$cli" && rows_known=yes || rows_known=no
        [ "$rows_known" = no ] && log "this bench has no --rows flag; running without it"
      fi
      [ "$rows_known" = yes ] && args+=(--rows "$rows")
      run_step "$name" 200 "$node" "$cli" "${args[@]}" && benched=$((benched + 1))
    done
  done

  # one summary of everything that produced JSON
  "$node" -e '
    const fs = require("fs"), path = require("path");
    const dir = process.argv[1], out = { probe: null, bench: {} };
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".json") && f !== "summary.json").sort()) {
      let v = null;
      try { v = JSON.parse(fs.readFileSync(path.join(dir, f), "utf8").trim().split("\n").pop()); } catch { continue; }
      if (f === "probe.json") out.probe = v; else if (f.startsWith("bench-")) out.bench[f.slice(6, -5)] = v;
    }
    fs.writeFileSync(path.join(dir, "summary.json"), JSON.stringify(out, null, 2) + "\n");
  ' "$OUT"
  log "done in $(($(date +%s) - START_S))s: $benched bench runs; outputs in $OUT (summary.json)"
  [ "$benched" -gt 0 ] || die "no bench run succeeded"
}

# BOXED_KIT_SOURCE_ONLY=1 defines the functions without running (for tests).
if [ "${BOXED_KIT_SOURCE_ONLY:-}" != 1 ]; then main "$@"; fi
