// Token sampling on the GPU, one workgroup per row over the whole vocabulary. Same semantics as the
// CPU sampler (src/sampler/sample.ts, whose header defines them):
//   argmax (ties: lowest id) -> greedy when temperature <= 0 or every valid logit is -inf;
//   e[i] = exp((l[i] - m) / T); top-k and top-p thresholds on the LOGIT, found by bisection over the
//   order-preserving u32 key of the f32 logit (32 rounds of a workgroup reduction each, no sort);
//   then the token: the first kept id, in index order, whose running sum of e exceeds coin * keptMass,
//   found with a workgroup prefix sum over thread-contiguous ranges.
// Bindings (group 0):
//   0 uniform  cfg { vocab, validVocab, rounds = 32, wg = WG }
//   1 storage  logits: array<f32>        [rows, vocab]  read (ids >= validVocab are padding, never picked)
//   2 storage  params: array<RowParams>  [maxRows]      read { temperature, topP, topK, coin } per row
//   3 storage  tokens: array<u32>        [rows]         write
// Dispatch: (rows, 1, 1). Overrides: WG (threads, a power of two).
// Logits are cleaned first: NaN -> -inf, +inf -> the largest finite f32.

// rounds (= 32) and wg (= WG) are loop bounds read at run time so compilers do not unroll the loops
struct Cfg { vocab: u32, validVocab: u32, rounds: u32, wg: u32 }
struct RowParams { temperature: f32, topP: f32, topK: u32, coin: f32 }

override WG: u32 = 256;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> cfg: Cfg;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<RowParams>;
@group(0) @binding(3) var<storage, read_write> tokens: array<u32>;

var<workgroup> redU: array<u32, WG>;
var<workgroup> redI: array<u32, WG>;
var<workgroup> redF: array<f32, WG>;
var<workgroup> wKey: u32;
var<workgroup> found: atomic<u32>;
var<workgroup> lastKept: atomic<u32>; // 1 + the last kept id with e > 0 seen by the walk; 0: none

fn cleanBits(x: f32) -> u32 {
  var b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) { b = 0xff800000u; } // NaN -> -inf
  if (b == 0x7f800000u) { b = 0x7f7fffffu; }                // +inf -> max finite
  return b;
}

// order-preserving key: a < b as f32 <=> key(a) < key(b) as u32
fn keyOf(b: u32) -> u32 {
  if ((b & 0x80000000u) != 0u) { return ~b; }
  return b | 0x80000000u;
}

fn bitsOfKey(k: u32) -> u32 {
  if ((k & 0x80000000u) != 0u) { return k & 0x7fffffffu; }
  return ~k;
}

fn sumU(lid: u32, x: u32) -> u32 {
  redU[lid] = x;
  workgroupBarrier();
  for (var s = cfg.wg / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redU[lid] += redU[lid + s]; }
    workgroupBarrier();
  }
  let r = redU[0];
  workgroupBarrier();
  return r;
}

fn sumF(lid: u32, x: f32) -> f32 {
  redF[lid] = x;
  workgroupBarrier();
  for (var s = cfg.wg / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { redF[lid] += redF[lid + s]; }
    workgroupBarrier();
  }
  let r = redF[0];
  workgroupBarrier();
  return r;
}

// e = exp((l - m) / T) of the cleaned logit with key k
fn weight(k: u32, m: f32, t: f32) -> f32 {
  return exp((bitcast<f32>(bitsOfKey(k)) - m) / t);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  let p = params[row];
  let base = row * cfg.vocab;
  let n = min(cfg.validVocab, cfg.vocab);

  // 1. argmax over keys (ties: lowest id)
  var bk = 0u;
  var bi = NONE;
  for (var i = lid; i < n; i += WG) {
    let k = keyOf(cleanBits(logits[base + i]));
    if (bi == NONE || k > bk) { bk = k; bi = i; }
  }
  redU[lid] = bk;
  redI[lid] = bi;
  workgroupBarrier();
  for (var s = cfg.wg / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ok = redU[lid + s];
      let oi = redI[lid + s];
      if (oi != NONE && (redI[lid] == NONE || ok > redU[lid] || (ok == redU[lid] && oi < redI[lid]))) {
        redU[lid] = ok;
        redI[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  let best = redI[0];
  if (lid == 0u) {
    wKey = redU[0];
    atomicStore(&found, NONE);
    atomicStore(&lastKept, 0u);
  }
  let mKey = workgroupUniformLoad(&wKey);
  let negInfKey = keyOf(0xff800000u);
  if (!(p.temperature > 0.0) || mKey <= negInfKey) {
    if (lid == 0u) { tokens[row] = best; }
    return;
  }
  let m = bitcast<f32>(bitsOfKey(mKey));
  let t = p.temperature;

  // 2. top-k: the largest key with at least topK valid ids at or above it
  var tKey = 0u;
  if (p.topK > 0u && p.topK < n) {
    var lo = 0u;
    var hi = mKey;
    for (var it = 0u; it < cfg.rounds; it++) {
      let mid = lo + (hi - lo + 1u) / 2u;
      var c = 0u;
      for (var i = lid; i < n; i += WG) {
        if (keyOf(cleanBits(logits[base + i])) >= mid) { c++; }
      }
      if (sumU(lid, c) >= p.topK) { lo = mid; } else { hi = mid - 1u; }
    }
    tKey = lo;
  }

  // 3. top-p: the largest key >= tKey whose mass at or above it reaches topP * mass(top-k set)
  if (p.topP < 1.0) {
    var mk = 0.0;
    for (var i = lid; i < n; i += WG) {
      let k = keyOf(cleanBits(logits[base + i]));
      if (k >= tKey) { mk += weight(k, m, t); }
    }
    let need = p.topP * sumF(lid, mk);
    var lo = tKey;
    var hi = mKey;
    for (var it = 0u; it < cfg.rounds; it++) {
      let mid = lo + (hi - lo + 1u) / 2u;
      var s = 0.0;
      for (var i = lid; i < n; i += WG) {
        let k = keyOf(cleanBits(logits[base + i]));
        if (k >= mid) { s += weight(k, m, t); }
      }
      if (sumF(lid, s) >= need) { lo = mid; } else { hi = mid - 1u; }
    }
    tKey = lo;
  }

  // 4. pick: thread-contiguous ranges, exclusive prefix sum of their kept mass, then a walk
  let per = (n + WG - 1u) / WG;
  let start = min(lid * per, n);
  let end = min(start + per, n);
  var local = 0.0;
  for (var i = start; i < end; i++) {
    let k = keyOf(cleanBits(logits[base + i]));
    if (k >= tKey) { local += weight(k, m, t); }
  }
  redF[lid] = local;
  workgroupBarrier();
  for (var s = 1u; s < cfg.wg; s <<= 1u) {
    var v = redF[lid];
    if (lid >= s) { v += redF[lid - s]; }
    workgroupBarrier();
    redF[lid] = v;
    workgroupBarrier();
  }
  let total = redF[WG - 1u];
  let goal = p.coin * total;
  var run = 0.0;
  if (lid > 0u) { run = redF[lid - 1u]; }
  for (var i = start; i < end; i++) {
    let k = keyOf(cleanBits(logits[base + i]));
    if (k < tKey) { continue; }
    let e = weight(k, m, t);
    run += e;
    if (e > 0.0) { atomicMax(&lastKept, i + 1u); }
    if (run > goal) {
      atomicMin(&found, i);
      break;
    }
  }
  workgroupBarrier();
  if (lid == 0u) {
    var tok = atomicLoad(&found);
    if (tok == NONE) {
      let last = atomicLoad(&lastKept);
      tok = select(best, last - 1u, last > 0u);
    }
    tokens[row] = tok;
  }
}
