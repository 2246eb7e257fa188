// Token sampling on the GPU in two dispatches. Same semantics as the CPU sampler (src/sampler/sample.ts,
// whose header defines them; src/cpu/sample-partial.ts is the CPU twin of the first stage):
//   argmax (ties: lowest id) -> greedy when temperature <= 0 or every valid logit is -inf;
//   e[i] = exp((l[i] - m) / T); top-k and top-p thresholds on the LOGIT, as keys (the order-preserving u32
//   key of the f32 logit); then the token: the first kept id, in index order, whose running sum of e
//   exceeds coin * keptMass.
// How the thresholds are found (each step skipped when its filter is off), with few passes over the vocab:
//  - top-k with topK <= WG: the topK-th largest of the per-thread maxima of the argmax pass is a lower bound
//    of the k-th largest logit (those maxima are topK distinct ids); one pass appends the ids at or above it
//    to a workgroup list (CAP ids). Usually they fit, and no search pass is needed.
//  - otherwise a search: a window [lo, hi] of keys that holds the threshold is cut by M = 15 pivots; one pass
//    gives, per pivot, the count (and for top-p the mass) of the in-window ids at or above it, summed over
//    the workgroup in a fixed tree; the window becomes the slot under the largest pivot whose F (ids above
//    the window, carried as a count and a mass, plus that sum) reaches the target. F is monotone in the
//    pivot (f32 sums of non-negative terms in a fixed order), so this ends on the largest key t with
//    F(t) >= target: the documented threshold. Pivots: the first top-p pass at m - T * d (d = 16 .. 0.5),
//    then spread evenly in logit value, after VALUE_PASSES passes evenly in key (at most 8 more passes).
//    Ids below the first pivot take a cheap path. The first top-p pass also appends the ids with e >= e^-8
//    to the list; as soon as every id at or above the window fits the list (at most one compaction pass),
//    the search stops.
//  - on the list (a superset of the ids at or above the thresholds, appended in any order): a bitonic sort
//    by (key descending, id ascending), top-k at rank topK, top-p as the first tie-group end whose prefix
//    sum of e reaches the need, then a sort of the kept prefix by id: the pick walks it in index order.
//    Without a list the pick walks the vocabulary (two thread-contiguous passes).
// Everything is deterministic: atomics only append to the list, which is sorted before it is read, or take
// a minimum / maximum.
// Stage 1 (entry `partial`, many workgroups a row): the valid ids are cut into cfg.chunks contiguous chunks;
// one workgroup of WG1 threads per (chunk, row) writes the chunk's record: its CC best entries by (key
// descending, id ascending), the best one left out (the floor), and its sum of e relative to its own
// maximum. Stage 2 (entry `main`, one workgroup a row) first reads the records only: the argmax (greedy is
// done), the mass over the vocabulary (each chunk's sum times exp((m_chunk - m) / T)), F = the largest
// floor, and the candidates with key > F, which are EVERY id with key > F. When the thresholds provably lie
// above F (top-k: at least topK such ids; top-p without top-k: their mass reaches topP * mass with a margin
// of 1e-4 beyond f32 rounding), those candidates are the list and only step 4 and the pick below run on it:
// the 151,936 logits are read once, by stage 1. Otherwise (plain temperature, or a flat distribution whose
// kept set reaches below F) the row takes the full-vocabulary passes below, as before.
// With no stage 1 (cfg.chunks 0: CPU adapters) a sampled row with top-k or top-p first takes one pass in
// `main` itself (fromThreads): each thread keeps stage 1's state over its strided ids, so a thread plays a
// chunk and the same test on F decides; only when it fails does the row take the full passes.
// Bindings (group 0):
//   0 uniform  cfg { vocab, validVocab, chunks, wg = WG } (chunks: G, 1..CAP / CC; 0 = no stage 1)
//   1 storage  logits: array<f32>        [rows, vocab]  read (ids >= validVocab are padding, never picked)
//   2 storage  params: array<RowParams>  [maxRows]      read { temperature, topP, topK, coin } per row
//   3 storage  tokens: array<u32>        [rows]         write (main)
//   4 storage  cand:   array<u32>        [rows, G, REC] written by `partial`, read by `main`: per chunk
//              { maxKey, argmax id, floor key, mass bits, CC ids, CC keys } (empty entries: id NONE, key 0)
// Dispatch: partial (G, rows, 1) with WG1 threads, then main (rows, 1, 1). Overrides: WG (threads, a power of two, <= 256; workgroup memory: red 4*WG +
// list and lkey 2*CAP u32 words + small, about 12.3 KiB at WG 256, under the 16 KiB every adapter has).
// Full-vocabulary passes (strided): argmax; top-k: one compaction pass (search passes only when the list
// overflows); top-p: one pass with exp, plus a compaction pass when its window ends below e^-8.
// Logits are cleaned first: NaN -> -inf, +inf -> the largest finite f32.

struct Cfg { vocab: u32, validVocab: u32, chunks: u32, wg: u32 }
struct RowParams { temperature: f32, topP: f32, topK: u32, coin: f32 }
// the search state, written by thread 0 and read by all with workgroupUniformLoad
struct State {
  lo: u32,        // window [lo, hi] of keys that holds the threshold
  hi: u32,
  aboveCnt: u32,  // ids with key > hi
  aboveMass: f32, // their mass (top-p phase)
  need: f32,      // top-p target: topP * mass of the top-k set
  jstar: u32,     // the bin chosen by the last pass
  listLen: u32,   // 0: no list (full passes); else ids in list
  compact: u32,   // > 0: compact the (this many) ids with key >= lo after this pass
}

override WG: u32 = 256;
override WG1: u32 = 64;    // stage 1 threads (a power of two <= WG)
const CC: u32 = 4u;        // candidates a chunk keeps (stage 1 keeps CC + 1 = 5 entries as scalars)
const REC: u32 = 4u + 2u * CC; // u32 words of a chunk's record
const M: u32 = 15u;        // pivots per pass
const NB: u32 = 16u;       // bins per pass = M + 1
const HB: u32 = 8u;        // bins reduced at a time
const CAP: u32 = 1024u;    // list capacity (ids), a power of two (bitonic sort)
const SPEC: u32 = 4u;       // first top-p pass: ids at or above piv[SPEC] (e >= e^-8) go to the list
const VALUE_PASSES: u32 = 3u; // passes with value-spread pivots before key-spread ones
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> cfg: Cfg;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<RowParams>;
@group(0) @binding(3) var<storage, read_write> tokens: array<u32>;
@group(0) @binding(4) var<storage, read_write> cand: array<u32>;

var<workgroup> red: array<u32, WG * 4u>;  // reduction scratch: [WG/2, HB] bins, or [2, WG] scalars
var<workgroup> list: array<u32, CAP>;     // [listLen] ids with key >= the compaction lo
var<workgroup> lkey: array<u32, CAP>;     // [listLen] their keys (after the first sort)
var<workgroup> piv: array<u32, 17>;       // [NB + 1] piv[0] = lo, piv[1..M] pivots, piv[NB] = hi + 1
var<workgroup> totC: array<u32, NB>;      // [NB] per pivot piv[0..M]: in-window ids at or above it, over the workgroup
var<workgroup> totM: array<f32, NB>;      // [NB] their masses
var<workgroup> st: State;
var<workgroup> wKey: vec2<u32>;
var<workgroup> wU: u32;
var<workgroup> found: atomic<u32>;
var<workgroup> listFill: atomic<u32>;
var<workgroup> cut: atomic<u32>;
var<workgroup> lastKept: atomic<u32>; // 1 + the last kept id with e > 0 seen by the walk; 0: none

var<private> cnt: array<u32, NB>;  // this thread's per-pivot counts (this pass)
var<private> mass: array<f32, NB>; // this thread's per-pivot masses (this pass)
var<private> acc: array<u32, HB>;  // reduction accumulator (u32 or f32 bits)

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

fn valueOfKey(k: u32) -> f32 { return bitcast<f32>(bitsOfKey(k)); }

fn keyAt(base: u32, i: u32) -> u32 { return keyOf(cleanBits(logits[base + i])); }

// e = exp((l - m) / T) of the cleaned logit with key k
fn weight(k: u32, m: f32, t: f32) -> f32 {
  return exp((valueOfKey(k) - m) / t);
}

// sums cnt (and mass) over the workgroup in a fixed tree into totC (totM), 8 bins at a time; ends with a barrier
fn reduceBins(lid: u32, withMass: bool) {
  for (var round = 0u; round < 4u; round++) {
    let isMass = round >= 2u;
    if (isMass && !withMass) { break; }
    let b0 = (round & 1u) * HB;
    for (var b = 0u; b < HB; b++) { acc[b] = select(cnt[b0 + b], bitcast<u32>(mass[b0 + b]), isMass); }
    for (var s = cfg.wg / 2u; s > 0u; s >>= 1u) {
      if (lid >= s && lid < 2u * s) {
        for (var b = 0u; b < HB; b++) { red[(lid - s) * HB + b] = acc[b]; }
      }
      workgroupBarrier();
      if (lid < s) {
        for (var b = 0u; b < HB; b++) {
          let o = red[lid * HB + b];
          acc[b] = select(acc[b] + o, bitcast<u32>(bitcast<f32>(acc[b]) + bitcast<f32>(o)), isMass);
        }
      }
      workgroupBarrier();
    }
    if (lid == 0u) {
      for (var b = 0u; b < HB; b++) {
        if (isMass) { totM[b0 + b] = bitcast<f32>(acc[b]); } else { totC[b0 + b] = acc[b]; }
      }
    }
  }
  if (lid == 0u && !withMass) {
    for (var b = 0u; b < NB; b++) { totM[b] = 0.0; }
  }
  workgroupBarrier();
}

// the first top-p pass places pivots at m - T * d (e = exp(-d)); ids below the lowest one (e < e^-16, most
// ids of a peaked distribution) take the cheap path
const TDIST = array<f32, 15>(16.0, 12.0, 10.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.5, 3.0, 2.5, 2.0, 1.5, 1.0, 0.5);
const SPREAD_KEY: u32 = 0u;
const SPREAD_VALUE: u32 = 1u;
const SPREAD_TEMP: u32 = 2u;

// thread 0: pivots strictly inside (lo, hi + 1]: spread in key, in value over [key floorKey, hi], or at
// m - T * TDIST
// Inclusive prefix sum of each thread's value over the workgroup, in a fixed order (deterministic):
// afterwards red[i] holds, as f32 bits, the sum of threads 0..i; red[WG - 1] is the total.
fn scanSums(lid: u32, value: f32) {
  red[lid] = bitcast<u32>(value);
  workgroupBarrier();
  for (var s = 1u; s < cfg.wg; s <<= 1u) {
    var v = bitcast<f32>(red[lid]);
    if (lid >= s) { v += bitcast<f32>(red[lid - s]); }
    workgroupBarrier();
    red[lid] = bitcast<u32>(v);
    workgroupBarrier();
  }
}

fn makePivots(lo: u32, hi: u32, floorKey: u32, mode: u32, m: f32, t: f32) {
  piv[0] = lo;
  piv[NB] = hi + 1u;
  var prev = lo;
  let w = hi - lo;
  // the value range: from floorKey (or the window's lowest finite key) to hi; key-spread when none is finite
  let finiteLo = keyOf(0xff7fffffu);
  var aKey = max(lo, floorKey);
  if (aKey > hi) { aKey = max(lo, finiteLo); }
  let spreadValue = mode == SPREAD_VALUE && aKey <= hi;
  let a = valueOfKey(aKey);
  let b = valueOfKey(hi);
  for (var j = 1u; j <= M; j++) {
    var c: u32;
    if (mode == SPREAD_TEMP) {
      c = keyOf(cleanBits(m - t * TDIST[j - 1u]));
    } else if (spreadValue) {
      let f = f32(j) / f32(NB);
      c = keyOf(cleanBits(a * (1.0 - f) + b * f));
    } else {
      c = lo + 1u + (w >> 4u) * j + (((w & 15u) * j) >> 4u);
    }
    let p = min(max(c, prev + 1u), hi + 1u);
    piv[j] = p;
    prev = p;
  }
}

// entry a goes before entry b: by key descending then id ascending, or by id ascending
fn before(a: u32, b: u32, byKey: bool) -> bool {
  if (byKey && lkey[a] != lkey[b]) { return lkey[a] > lkey[b]; }
  return list[a] < list[b];
}

// sorts the entries (list, lkey)[0..len) in place: bitonic over the next power of two, padded with
// (id NONE, key 0), which sorts last either way
fn sortList(lid: u32, len: u32, byKey: bool) {
  var size = 1u;
  while (size < len) { size <<= 1u; }
  for (var i = len + lid; i < size; i += WG) {
    list[i] = NONE;
    lkey[i] = 0u;
  }
  workgroupBarrier();
  for (var k = 2u; k <= size; k <<= 1u) {
    for (var j = k >> 1u; j > 0u; j >>= 1u) {
      for (var q = lid; q < size / 2u; q += WG) {
        let i = 2u * j * (q / j) + (q % j);
        let l = i + j;
        let up = (i & k) == 0u;
        if (select(before(i, l, byKey), before(l, i, byKey), up)) {
          let x = list[i];
          list[i] = list[l];
          list[l] = x;
          let y = lkey[i];
          lkey[i] = lkey[l];
          lkey[l] = y;
        }
      }
      workgroupBarrier();
    }
  }
}

// appends the ids with key >= lo to the list in any order (sorted later, so the result is fixed) and
// returns their count; a count > CAP means the list is incomplete
fn compact(lid: u32, base: u32, n: u32, lo: u32) -> u32 {
  if (lid == 0u) { atomicStore(&listFill, 0u); }
  workgroupBarrier();
  for (var i = lid; i < n; i += WG) {
    let key = keyAt(base, i);
    if (key >= lo) {
      let at = atomicAdd(&listFill, 1u);
      if (at < CAP) {
        list[at] = i;
        lkey[at] = key;
      }
    }
  }
  workgroupBarrier();
  if (lid == 0u) { wU = atomicLoad(&listFill); }
  return workgroupUniformLoad(&wU);
}

// Full passes toward the largest key t in [lo, hi] with F(t) >= target (F: count of ids with key >= t;
// with useMass: their mass, target topP * F(lo)); st carries lo, hi and listLen in and out. Returns t, or
// stops early (st.listLen > 0) once the ids with key >= lo fit the list: the caller finishes there.
fn search(lid: u32, base: u32, n: u32, lo0: u32, hi0: u32, floorKey: u32, useMass: bool, k: u32, topP: f32, m: f32, t: f32) -> u32 {
  if (lid == 0u) {
    st.lo = lo0;
    st.hi = hi0;
    st.aboveCnt = 0u;
    st.aboveMass = 0.0;
    st.need = 0.0;
    st.compact = 0u;
  }
  for (var round = 0u; round < 64u; round++) {
    let s = workgroupUniformLoad(&st);
    if (s.lo >= s.hi || s.listLen > 0u) { break; }
    if (lid == 0u) {
      var mode = select(SPREAD_KEY, SPREAD_VALUE, round < VALUE_PASSES);
      if (useMass && round == 0u) { mode = SPREAD_TEMP; }
      makePivots(s.lo, s.hi, floorKey, mode, m, t);
      atomicStore(&listFill, 0u);
    }
    workgroupBarrier();
    // per pivot piv[0..M] (piv[0] = lo): the count (and mass) of this thread's in-window ids at or above it
    let pa = vec4<u32>(piv[0], piv[1], piv[2], piv[3]);
    let pb = vec4<u32>(piv[4], piv[5], piv[6], piv[7]);
    let pc = vec4<u32>(piv[8], piv[9], piv[10], piv[11]);
    let pd = vec4<u32>(piv[12], piv[13], piv[14], piv[15]);
    let z = vec4<u32>(0u);
    let one = vec4<u32>(1u);
    let zf = vec4<f32>(0.0);
    var ca = z;
    var cb = z;
    var cc = z;
    var cd = z;
    var ma = zf;
    var mb = zf;
    var mc = zf;
    var md = zf;
    let p1 = piv[1];
    // the first top-p pass also appends the ids at or above piv[SPEC] to the list: when the window ends
    // there or above and they fit, no compaction pass is needed
    let spec = useMass && round == 0u && s.listLen == 0u;
    let pSpec = piv[SPEC];
    var c0 = 0u;
    var m0 = 0.0;
    let full = s.listLen == 0u;
    let count = select(s.listLen, n, full);
    for (var j = lid; j < count; j += WG) {
      var i = j;
      if (!full) { i = list[j]; }
      let key = keyAt(base, i);
      if (key >= s.lo && key <= s.hi) {
        var e = 0.0;
        if (useMass) { e = weight(key, m, t); }
        if (key < p1) {
          // below the first pivot (most ids in a first pass): only piv[0] counts it
          c0 += 1u;
          m0 += e;
          continue;
        }
        if (spec && key >= pSpec) {
          let at = atomicAdd(&listFill, 1u);
          if (at < CAP) {
            list[at] = i;
            lkey[at] = key;
          }
        }
        let kv = vec4<u32>(key);
        ca += select(z, one, kv >= pa);
        cb += select(z, one, kv >= pb);
        cc += select(z, one, kv >= pc);
        cd += select(z, one, kv >= pd);
        if (useMass) {
          let ev = vec4<f32>(e);
          ma += select(zf, ev, kv >= pa);
          mb += select(zf, ev, kv >= pb);
          mc += select(zf, ev, kv >= pc);
          md += select(zf, ev, kv >= pd);
        }
      }
    }
    ca.x += c0;
    ma.x += m0;
    for (var q = 0u; q < 4u; q++) {
      cnt[q] = ca[q];
      cnt[4u + q] = cb[q];
      cnt[8u + q] = cc[q];
      cnt[12u + q] = cd[q];
      mass[q] = ma[q];
      mass[4u + q] = mb[q];
      mass[8u + q] = mc[q];
      mass[12u + q] = md[q];
    }
    reduceBins(lid, useMass);
    if (lid == 0u) {
      var need = s.need;
      if (useMass && round == 0u) {
        need = topP * (s.aboveMass + totM[0]);
        st.need = need;
      }
      // the largest pivot whose F reaches the target (piv[0] = lo always does)
      var j = 0u;
      for (var b = M; b >= 1u; b--) {
        let ok = select(s.aboveCnt + totC[b] >= k, s.aboveMass + totM[b] >= need, useMass);
        if (piv[b] <= s.hi && ok) {
          j = b;
          break;
        }
      }
      var above = s.aboveCnt;
      var aboveM = s.aboveMass;
      var win = totC[j];
      if (j < M) {
        above += totC[j + 1u];
        aboveM += totM[j + 1u];
        win -= totC[j + 1u];
      }
      let lo = piv[j];
      var hi = piv[j + 1u] - 1u;
      if (win == 0u) { hi = lo; } // an empty window: every key in it keeps the same set
      st.lo = lo;
      st.hi = hi;
      st.aboveCnt = above;
      st.aboveMass = aboveM;
      st.jstar = j;
      let keep = above + win;
      st.compact = select(0u, keep, s.listLen == 0u && keep <= CAP);
      let fill = atomicLoad(&listFill);
      if (useMass && round == 0u && s.listLen == 0u && j >= SPEC && fill <= CAP) {
        st.listLen = fill;
        st.compact = 0u;
      }
    }
    let d = workgroupUniformLoad(&st);
    if (d.compact > 0u) {
      let c = compact(lid, base, n, d.lo);
      if (lid == 0u) {
        st.listLen = c;
        st.compact = 0u;
      }
    }
  }
  let r = workgroupUniformLoad(&st);
  return r.lo;
}


// (key, id) maximum over threads 0..width of (k, i) (ties: the lowest id; id NONE: nothing), to all threads
fn reduceArgmax(lid: u32, width: u32, k: u32, i: u32) -> vec2<u32> {
  red[lid] = k;
  red[WG + lid] = i;
  workgroupBarrier();
  for (var s = width / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ok = red[lid + s];
      let oi = red[WG + lid + s];
      if (oi != NONE && (red[WG + lid] == NONE || ok > red[lid] || (ok == red[lid] && oi < red[WG + lid]))) {
        red[lid] = ok;
        red[WG + lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) { wKey = vec2<u32>(red[0], red[WG]); }
  return workgroupUniformLoad(&wKey);
}

// maximum of v over threads 0..width, to all threads
fn reduceMax(lid: u32, width: u32, v: u32) -> u32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = width / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { wU = red[0]; }
  return workgroupUniformLoad(&wU);
}

// entry (ka, ia) goes before (kb, ib): key descending, then id ascending; id NONE (empty) goes last
fn better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ia != NONE && (ib == NONE || ka > kb || (ka == kb && ia < ib));
}

// stage 1's per-thread state: the CC + 1 = 5 best entries in order (scalars: no private array), and
// (tm, ts) = (max, sum of exp((l - max) / T)) of the finite logits seen, from (lowest finite f32, 0)
var<private> k0: u32;
var<private> k1: u32;
var<private> k2: u32;
var<private> k3: u32;
var<private> k4: u32;
var<private> i0: u32;
var<private> i1: u32;
var<private> i2: u32;
var<private> i3: u32;
var<private> i4: u32;
var<private> tm: f32;
var<private> ts: f32;

// inserts (k, i) into k0..k4 (the last entry drops out); most calls return at the first test
fn insertEntry(k: u32, i: u32) {
  if (!better(k, i, k4, i4)) { return; }
  k4 = k;
  i4 = i;
  if (!better(k4, i4, k3, i3)) { return; }
  k4 = k3;
  i4 = i3;
  k3 = k;
  i3 = i;
  if (!better(k3, i3, k2, i2)) { return; }
  k3 = k2;
  i3 = i2;
  k2 = k;
  i2 = i;
  if (!better(k2, i2, k1, i1)) { return; }
  k2 = k1;
  i2 = i1;
  k1 = k;
  i1 = i;
  if (!better(k1, i1, k0, i0)) { return; }
  k1 = k0;
  i1 = i0;
  k0 = k;
  i0 = i;
}

// adds a (max, sum) pair into (tm, ts), rescaling to the larger max; an empty pair (lowest finite, 0) adds
// 0 (values are finite: differences are finite or -inf, exp never NaN)
fn addMass(m: f32, sm: f32, t: f32) {
  if (m > tm) {
    ts = ts * exp((tm - m) / t) + sm;
    tm = m;
  } else {
    ts += sm * exp((m - tm) / t);
  }
}

// Stage 1: the record of chunk wid.x of row wid.y (see the header), in one pass over the chunk: each thread
// keeps its CC + 1 best entries and its (max, sum) online; the threads' states are merged in a fixed tree.
@compute @workgroup_size(WG1)
fn partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x;
  let row = wid.y;
  let n = min(cfg.validVocab, cfg.vocab);
  let cs = (n + cfg.chunks - 1u) / cfg.chunks;
  let c0 = min(g * cs, n);
  let c1 = min(c0 + cs, n);
  let base = row * cfg.vocab;
  let rec = (row * cfg.chunks + g) * REC;
  let t = params[row].temperature;
  let sampled = t > 0.0;
  let negInfKey = keyOf(0xff800000u);
  k0 = 0u;
  k1 = 0u;
  k2 = 0u;
  k3 = 0u;
  k4 = 0u;
  i0 = NONE;
  i1 = NONE;
  i2 = NONE;
  i3 = NONE;
  i4 = NONE;
  tm = bitcast<f32>(0xff7fffffu); // the lowest finite f32
  ts = 0.0;
  for (var i = c0 + lid; i < c1; i += WG1) {
    let k = keyAt(base, i);
    insertEntry(k, i);
    if (sampled && k > negInfKey) { addMass(valueOfKey(k), 1.0, t); }
  }
  // tree merge: at step s, thread lid < s takes in thread lid + s's state (10 words of entries, then max
  // and sum)
  for (var s = WG1 / 2u; s > 0u; s >>= 1u) {
    if (lid >= s && lid < 2u * s) {
      let o = (lid - s) * 12u;
      red[o] = k0;
      red[o + 1u] = k1;
      red[o + 2u] = k2;
      red[o + 3u] = k3;
      red[o + 4u] = k4;
      red[o + 5u] = i0;
      red[o + 6u] = i1;
      red[o + 7u] = i2;
      red[o + 8u] = i3;
      red[o + 9u] = i4;
      red[o + 10u] = bitcast<u32>(tm);
      red[o + 11u] = bitcast<u32>(ts);
    }
    workgroupBarrier();
    if (lid < s) {
      let o = lid * 12u;
      for (var j = 0u; j < 5u; j++) { insertEntry(red[o + j], red[o + 5u + j]); }
      if (sampled) { addMass(bitcast<f32>(red[o + 10u]), bitcast<f32>(red[o + 11u]), t); }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    cand[rec] = k0;
    cand[rec + 1u] = i0;
    cand[rec + 2u] = k4;
    cand[rec + 3u] = bitcast<u32>(select(0.0, ts, sampled));
    cand[rec + 4u] = i0;
    cand[rec + 5u] = i1;
    cand[rec + 6u] = i2;
    cand[rec + 7u] = i3;
    cand[rec + 8u] = k0;
    cand[rec + 9u] = k1;
    cand[rec + 10u] = k2;
    cand[rec + 11u] = k3;
  }
}

// Stage 2's first part: from the chunk records only. Returns 1 when the token is written (greedy), 2 when
// the list holds every id at or above the thresholds (st: listLen, need, lo = 0; wKey = (max key, argmax)),
// 0 when the row needs the full passes. Sets found, lastKept and st.listLen as step 1 does.
fn fromRecords(lid: u32, row: u32, p: RowParams, n: u32) -> u32 {
  let G = cfg.chunks;
  let rb = row * G * REC;
  let negInfKey = keyOf(0xff800000u);
  var bk = 0u;
  var bi = NONE;
  var fl = 0u;
  for (var g = lid; g < G; g += WG) {
    let r = rb + g * REC;
    let id = cand[r + 1u];
    if (id != NONE && (bi == NONE || cand[r] > bk)) {
      bk = cand[r];
      bi = id;
    }
    fl = max(fl, cand[r + 2u]);
  }
  let F = reduceMax(lid, cfg.wg, fl);
  let w = reduceArgmax(lid, cfg.wg, bk, bi);
  if (lid == 0u) {
    atomicStore(&found, NONE);
    atomicStore(&lastKept, 0u);
    st.listLen = 0u;
  }
  if (!(p.temperature > 0.0) || w.x <= negInfKey) {
    if (lid == 0u) { tokens[row] = w.y; }
    return 1u;
  }
  let topKOn = p.topK > 0u && p.topK < n;
  let topPOn = p.topP < 1.0;
  if (!topKOn && !topPOn) { return 0u; }
  let m = valueOfKey(w.x);
  let t = p.temperature;
  // every id with key > F is a candidate of its chunk
  if (lid == 0u) { atomicStore(&listFill, 0u); }
  workgroupBarrier();
  for (var j = lid; j < G * CC; j += WG) {
    let r = rb + (j / CC) * REC + (j % CC);
    let id = cand[r + 4u];
    let k = cand[r + 4u + CC];
    if (id != NONE && k > F) {
      let at = atomicAdd(&listFill, 1u);
      list[at] = id;
      lkey[at] = k;
    }
  }
  workgroupBarrier();
  if (lid == 0u) { wU = atomicLoad(&listFill); }
  let len = workgroupUniformLoad(&wU);
  // the mass over the vocabulary from the chunks' sums (top-p without top-k only)
  var acc = 0.0;
  if (!topKOn) {
    for (var g = lid; g < G; g += WG) {
      let r = rb + g * REC;
      if (cand[r + 1u] != NONE && cand[r] > negInfKey) { acc += bitcast<f32>(cand[r + 3u]) * exp((valueOfKey(cand[r]) - m) / t); }
    }
  }
  return decideOnList(lid, p, len, acc, topKOn, m, t);
}

// The end of fromRecords and fromThreads: the list holds the len ids with key > F (every such id), acc is
// this thread's share of the vocabulary's mass (top-p without top-k). Returns 2 (st: listLen, need, lo = 0)
// when the thresholds provably lie above F, else 0.
fn decideOnList(lid: u32, p: RowParams, len: u32, acc: f32, topKOn: bool, m: f32, t: f32) -> u32 {
  var need = 0.0;
  var ok = false;
  if (topKOn) {
    ok = len >= p.topK;
  } else {
    scanSums(lid, acc);
    need = p.topP * bitcast<f32>(red[WG - 1u]);
    var lm = 0.0;
    for (var j = lid; j < len; j += WG) { lm += weight(lkey[j], m, t); }
    scanSums(lid, lm);
    ok = bitcast<f32>(red[WG - 1u]) * (1.0 - 1e-4) >= need;
  }
  if (lid == 0u) {
    wU = select(0u, 1u, ok);
    if (ok) {
      st.listLen = len;
      st.need = need;
      st.lo = 0u;
    }
  }
  return select(0u, 2u, workgroupUniformLoad(&wU) == 1u);
}

// The single kernel's (cfg.chunks 0, CPU adapters) one pass for a sampled row with top-k or top-p: each
// thread keeps stage 1's state over its strided ids (its CC + 1 best entries, its max and sum of e), so
// each thread is a "chunk": F = the largest thread floor, and every id with key > F is a thread candidate.
// Same returns as fromRecords (never 1 for a finite row: the caller has temperature > 0).
fn fromThreads(lid: u32, row: u32, p: RowParams, n: u32, base: u32) -> u32 {
  let t = p.temperature;
  let negInfKey = keyOf(0xff800000u);
  k0 = 0u;
  k1 = 0u;
  k2 = 0u;
  k3 = 0u;
  k4 = 0u;
  i0 = NONE;
  i1 = NONE;
  i2 = NONE;
  i3 = NONE;
  i4 = NONE;
  tm = bitcast<f32>(0xff7fffffu); // the lowest finite f32
  ts = 0.0;
  for (var i = lid; i < n; i += WG) {
    let k = keyAt(base, i);
    insertEntry(k, i);
    if (k > negInfKey) { addMass(valueOfKey(k), 1.0, t); }
  }
  let F = reduceMax(lid, cfg.wg, k4);
  let w = reduceArgmax(lid, cfg.wg, k0, i0);
  if (lid == 0u) {
    atomicStore(&found, NONE);
    atomicStore(&lastKept, 0u);
    st.listLen = 0u;
    atomicStore(&listFill, 0u);
  }
  if (w.x <= negInfKey) {
    if (lid == 0u) { tokens[row] = w.y; }
    return 1u;
  }
  let m = valueOfKey(w.x);
  workgroupBarrier();
  // at most CC * WG <= CAP ids
  if (i0 != NONE && k0 > F) { let at = atomicAdd(&listFill, 1u); list[at] = i0; lkey[at] = k0; }
  if (i1 != NONE && k1 > F) { let at = atomicAdd(&listFill, 1u); list[at] = i1; lkey[at] = k1; }
  if (i2 != NONE && k2 > F) { let at = atomicAdd(&listFill, 1u); list[at] = i2; lkey[at] = k2; }
  if (i3 != NONE && k3 > F) { let at = atomicAdd(&listFill, 1u); list[at] = i3; lkey[at] = k3; }
  workgroupBarrier();
  if (lid == 0u) { wU = atomicLoad(&listFill); }
  let len = workgroupUniformLoad(&wU);
  let topKOn = p.topK > 0u && p.topK < n;
  // tm <= m, so the factor is at most 1; a thread with no finite logit adds 0
  let acc = ts * exp((tm - m) / t);
  return decideOnList(lid, p, len, acc, topKOn, m, t);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  let p = params[row];
  let base = row * cfg.vocab;
  let n = min(cfg.validVocab, cfg.vocab);
  let negInfKey = keyOf(0xff800000u);

  let topKOn = p.topK > 0u && p.topK < n;
  let topPOn = p.topP < 1.0;
  var mode = 0u;
  if (cfg.chunks > 0u) {
    mode = fromRecords(lid, row, p, n);
  } else if (p.temperature > 0.0 && (topKOn || topPOn)) {
    mode = fromThreads(lid, row, p, n, base);
  }
  if (mode == 1u) { return; }
  var best = 0u;
  var mKey = 0u;
  var tKey = 0u;
  var kList = false;
  if (mode == 2u) {
    let w = workgroupUniformLoad(&wKey);
    mKey = w.x;
    best = w.y;
    kList = topKOn; // top-k is finished on the list; else top-p is, from st.need
  } else {
    // 1. argmax over keys (ties: lowest id), and the smallest finite key
    var bk = 0u;
    var bi = NONE;
    var mn = NONE;
    for (var i = lid; i < n; i += WG) {
      let k = keyAt(base, i);
      if (bi == NONE || k > bk) { bk = k; bi = i; }
      if (k > negInfKey) { mn = min(mn, k); }
    }
    red[lid] = bk;
    red[WG + lid] = bi;
    workgroupBarrier();
    for (var s = cfg.wg / 2u; s > 0u; s >>= 1u) {
      if (lid < s) {
        let ok = red[lid + s];
        let oi = red[WG + lid + s];
        if (oi != NONE && (red[WG + lid] == NONE || ok > red[lid] || (ok == red[lid] && oi < red[WG + lid]))) {
          red[lid] = ok;
          red[WG + lid] = oi;
        }
      }
      workgroupBarrier();
    }
    best = red[WG];
    if (lid == 0u) {
      wKey.x = red[0];
      atomicStore(&found, NONE);
      atomicStore(&lastKept, 0u);
      st.listLen = 0u;
    }
    workgroupBarrier();
    mKey = workgroupUniformLoad(&wKey).x;
    if (!(p.temperature > 0.0) || mKey <= negInfKey) {
      if (lid == 0u) { tokens[row] = best; }
      return;
    }
    red[lid] = mn;
    workgroupBarrier();
    for (var s = cfg.wg / 2u; s > 0u; s >>= 1u) {
      if (lid < s) { red[lid] = min(red[lid], red[lid + s]); }
      workgroupBarrier();
    }
    if (lid == 0u) { wKey.y = red[0]; }
    let minKey = workgroupUniformLoad(&wKey).y;
    let m = valueOfKey(mKey);
    let t = p.temperature;

    // 2. top-k: the largest key with at least topK valid ids at or above it
    if (topKOn) {
      // a lower bound when topK <= WG: the topK-th largest of the per-thread maxima (those are topK distinct
      // ids at or above it); the ids at or above it usually fit the list: then no search pass at all
      var lo0 = 0u;
      if (p.topK <= WG) {
        list[lid] = lid;
        lkey[lid] = select(bk, 0u, bi == NONE);
        sortList(lid, WG, true);
        lo0 = lkey[p.topK - 1u];
        let c = compact(lid, base, n, lo0);
        if (lid == 0u && c <= CAP) { st.listLen = c; }
      }
      tKey = search(lid, base, n, lo0, mKey, minKey, false, p.topK, 0.0, m, t);
    }
    kList = workgroupUniformLoad(&st).listLen > 0u; // top-k is finished on the list

    // 3. top-p: the largest key >= tKey whose mass at or above it reaches topP * mass(top-k set)
    if (topPOn && !kList) {
      let floorKey = max(minKey, keyOf(cleanBits(m - 32.0 * t)));
      tKey = search(lid, base, n, tKey, mKey, floorKey, true, 0u, p.topP, m, t);
    }
  }
  let m = valueOfKey(mKey);
  let t = p.temperature;

  // 4. on the list (every id with key >= its lo, which is <= the thresholds): sort it by logit, read
  // top-k at rank topK, top-p from the prefix sums of e in that order (ties kept), then sort the kept
  // prefix by id for the pick
  let sEnd = workgroupUniformLoad(&st);
  var count = n;      // ids the pick walks: [0, n) of the vocabulary, or list[0, count)
  var useList = sEnd.listLen > 0u;
  if (useList) {
    let len = sEnd.listLen;
    sortList(lid, len, true);
    if (kList) { tKey = lkey[p.topK - 1u]; }
    // the entries with key >= tKey (a prefix of the sorted list); in the top-p phase also >= the search's lo
    // (the list may hold more: it is a superset)
    let kThr = max(tKey, sEnd.lo);
    if (lid == 0u) {
      atomicStore(&listFill, 0u);
      atomicStore(&cut, NONE);
    }
    workgroupBarrier();
    for (var j = lid; j < len; j += WG) {
      if (lkey[j] >= kThr) { atomicMax(&listFill, j + 1u); }
    }
    workgroupBarrier();
    if (lid == 0u) { wU = atomicLoad(&listFill); }
    var keep = workgroupUniformLoad(&wU);
    if (topPOn) {
      let per = (keep + WG - 1u) / WG;
      let start = min(lid * per, keep);
      let end = min(start + per, keep);
      var local = 0.0;
      for (var j = start; j < end; j++) { local += weight(lkey[j], m, t); }
      scanSums(lid, local);
      // the need: from the full pass when the list was made in the top-p search (ids below it count)
      let need = select(p.topP * bitcast<f32>(red[WG - 1u]), sEnd.need, !kList);
      var run = 0.0;
      if (lid > 0u) { run = bitcast<f32>(red[lid - 1u]); }
      for (var j = start; j < end; j++) {
        run += weight(lkey[j], m, t);
        let groupEnd = j + 1u == keep || lkey[j + 1u] != lkey[j];
        if (groupEnd && run >= need) {
          atomicMin(&cut, j);
          break;
        }
      }
      workgroupBarrier();
      if (lid == 0u) { wU = atomicLoad(&cut); }
      let c = workgroupUniformLoad(&wU);
      if (c != NONE) { keep = c + 1u; }
      // the threshold, for the pick's filter (all of list[0, keep) is kept)
      tKey = lkey[keep - 1u];
      workgroupBarrier();
    }
    sortList(lid, keep, false);
    count = keep;
  }

  // 5. pick: thread-contiguous ranges over list[0, count) or the vocabulary, exclusive prefix sum of their
  // kept mass, then a walk
  let per = (count + WG - 1u) / WG;
  let start = min(lid * per, count);
  let end = min(start + per, count);
  var local = 0.0;
  for (var j = start; j < end; j++) {
    var i = j;
    if (useList) { i = list[j]; }
    let k = keyAt(base, i);
    if (k >= tKey) { local += weight(k, m, t); }
  }
  scanSums(lid, local);
  let total = bitcast<f32>(red[WG - 1u]);
  let goal = p.coin * total;
  var run = 0.0;
  if (lid > 0u) { run = bitcast<f32>(red[lid - 1u]); }
  for (var j = start; j < end; j++) {
    var i = j;
    if (useList) { i = list[j]; }
    let k = keyAt(base, i);
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
