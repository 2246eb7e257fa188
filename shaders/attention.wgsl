// Causal grouped-query attention over the KV cache, flash style: the score matrix is never stored.
// Row r with (pos, slot) attends positions 0..pos of its slot; query head h uses kv head h / G.
//
// Entry `main`: a workgroup takes the query vectors of BR rows x the G query heads of one kv head
// (BQ = BR*G vectors), loops over tiles of BK cache positions (K tile, then V tile, in workgroup
// memory, converted to f32) and keeps a running max m, sum l and accumulator acc[HD] per query vector
// in f32 (online softmax). Rows of a tile with different slots are handled one slot after another.
//   Prefill (PARTIAL = false): dispatch (x = rows in the last tile (1..BR), nKvHeads, ceil(rows/BR));
//     workgroups with id.x > 0 exit at once: x only tells the shader the row count. Writes out = acc / l.
//   Decode (PARTIAL = true, BR = 1), only for head dims entry `decode` does not take: dispatch
//     (nSplits, nKvHeads, rows). Split s of a row covers positions [s*c, min((s+1)*c, pos+1)) with
//     c = ceil((pos+1)/nSplits); it writes the partial record (m, l, 0, 0, acc[HD]) number
//     (row*nHeads + head)*nSplits + s; workgroup (0,0,0) writes nSplits into the header part[0] for `combine`.
// Entry `decode` (further below): the decode path, K and V read as vec4<u32> straight from storage, the query
//   heads of a kv head scored in parallel; the same splits and partial records (one split: the output itself).
// Entry `combine`: dispatch (nHeads, rows), after the decode dispatch; merges a row's nSplits records:
//   M = max m_s, out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M), in split groups (see below).
// Bindings (group 0):
//   0 uniform  params { nHeads, nKvHeads, context, slots, scale: f32, partRecords, scaleWord, hd, bk, br }
//   1 storage  q:       array<f32>        [rows, nHeads*HD]          read (rotated)
//   2 storage  rowMeta: array<vec2<u32>>  [maxRows]                  read ((pos, slot) per row)
//   3 storage  kc:      array<u32>        [slots, context, kvDim]    read (f16 pairs, f32 bits, or q8: 4 int8 a word,
//                                                                  then [slots, context, nKvHeads] f32 scales from
//                                                                  word scaleWord; value = code * scale)
//   4 storage  vc:      array<u32>        [slots, context, kvDim]    read
//   7, 8 storage kc4, vc4: array<vec4<u32>> the same caches, 16-byte chunks (entry `decode` only, instead of 3, 4)
//   5 storage  outp:    array<f32>        [rows, nHeads*HD]          write
//   6 storage  part:    array<f32>        [4 + partRecords * (4 + HD)]  header, then [rows, nHeads, nSplits] records
// Overrides: WG threads, G = nHeads/nKvHeads, HD = headDim, BR rows per tile, BK positions per tile,
//   KV_F16 / KV_Q8 cache format (neither: f32), PARTIAL mode; GW, T, DBK, RED for entry `decode`. Entry `main`'s workgroup memory: 4*(2*BQ*HD + BK*(HD+1) + BQ*(BK+1) + 3*BQ) + 8*BR + 8 bytes.
// params.hd/bk/br repeat HD/BK/BR as loop bounds read at run time, so compilers do not fully unroll the
// loops (Mesa lavapipe otherwise compiles this shader for tens of seconds). No subgroup operations: every
// reduction here is a loop over workgroup memory, so the shader is the same on every adapter.

struct Params { nHeads: u32, nKvHeads: u32, context: u32, slots: u32, scale: f32, partRecords: u32, scaleWord: u32, hd: u32, bk: u32, br: u32 }

override WG: u32 = 128;
override G: u32 = 1;
override HD: u32 = 64;
override BR: u32 = 1;
override BK: u32 = 32;
override KV_F16: bool = true;
override KV_Q8: bool = false;
override PARTIAL: bool = false;

const NONE: u32 = 0xffffffffu;
const NEG: f32 = -3.4e38; // stands for -inf (masked scores, empty ranges)

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> rowMeta: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> kc: array<u32>;
@group(0) @binding(4) var<storage, read> vc: array<u32>;
@group(0) @binding(5) var<storage, read_write> outp: array<f32>;
@group(0) @binding(6) var<storage, read_write> part: array<f32>;

var<workgroup> qs: array<f32, BR * G * HD>;   // query vectors, pre-scaled
var<workgroup> acc: array<f32, BR * G * HD>;  // running sum of p * v
// row strides padded by one float so threads reading one column of a tile hit different memory banks
const PAD: u32 = 1u;
var<workgroup> kv: array<f32, BK * (HD + PAD)>;     // K tile, then V tile: [BK][HD + 1]
var<workgroup> sc: array<f32, BR * G * (BK + PAD)>; // scores, then p: [BQ][BK + 1]
var<workgroup> mrun: array<f32, BR * G>;
var<workgroup> lrun: array<f32, BR * G>;
var<workgroup> alpha: array<f32, BR * G>;
var<workgroup> rpos: array<u32, BR>;
var<workgroup> rslot: array<u32, BR>;
var<workgroup> wCur: u32;
var<workgroup> wSpan: u32;

// the 4 int8 codes of a q8 word (lowest byte first) as f32
fn i8x4(w: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w << 24u, w << 16u, w << 8u, w)) >> vec4<u32>(24u));
}

// elements d, d+1 (d even) of kv head kvHead at (slot, p)
fn cachePair(isK: bool, slot: u32, p: u32, kvHead: u32, d: u32) -> vec2<f32> {
  let e = (slot * params.context + p) * params.nKvHeads * HD + kvHead * HD + d;
  if (KV_Q8) {
    let sw = params.scaleWord + (slot * params.context + p) * params.nKvHeads + kvHead;
    var w: u32;
    var sc: f32;
    if (isK) { w = kc[e / 4u]; sc = bitcast<f32>(kc[sw]); } else { w = vc[e / 4u]; sc = bitcast<f32>(vc[sw]); }
    let v = i8x4(w);
    if (e % 4u == 0u) { return v.xy * sc; }
    return v.zw * sc;
  }
  if (KV_F16) {
    if (isK) { return unpack2x16float(kc[e / 2u]); }
    return unpack2x16float(vc[e / 2u]);
  }
  if (isK) { return vec2<f32>(bitcast<f32>(kc[e]), bitcast<f32>(kc[e + 1u])); }
  return vec2<f32>(bitcast<f32>(vc[e]), bitcast<f32>(vc[e + 1u]));
}

// a tile of BK positions of one kv head into kv[c][d], a pair of adjacent elements (one f16 word) per step
fn loadTile(isK: bool, lid: u32, slot: u32, t0: u32, kEnd: u32, kvHead: u32) {
  let half = params.hd / 2u;
  for (var i = lid; i < params.bk * half; i += WG) {
    let c = i / half;
    let d = 2u * (i % half);
    let p = t0 + c;
    var v = vec2<f32>(0.0, 0.0);
    if (p < kEnd) { v = cachePair(isK, slot, p, kvHead, d); }
    kv[c * (HD + PAD) + d] = v.x;
    kv[c * (HD + PAD) + d + 1u] = v.y;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // loop bounds from the uniform (equal to the overrides): keeps compilers from unrolling them
  let br = params.br;
  let hd = params.hd;
  let bk = params.bk;
  let BQ = br * G;
  var rows: u32;
  var split = 0u;
  var nSplits = 1u;
  if (PARTIAL) {
    rows = nwg.z;
    split = wid.x;
    nSplits = nwg.x;
  } else {
    if (wid.x != 0u) { return; }
    rows = (nwg.z - 1u) * BR + nwg.x;
  }
  let kvHead = wid.y;
  let row0 = wid.z * BR;
  let qDim = params.nHeads * HD;

  // the tile's rows: (pos, slot), slot NONE for rows past the end or out of range
  for (var r = lid; r < br; r += WG) {
    var slot = NONE;
    var pos = 0u;
    if (row0 + r < rows) {
      let m = rowMeta[row0 + r];
      if (m.x < params.context && m.y < params.slots) { pos = m.x; slot = m.y; }
    }
    rpos[r] = pos;
    rslot[r] = slot;
  }
  for (var i = lid; i < BQ * hd; i += WG) {
    let qi = i / HD;
    let row = row0 + qi / G;
    let head = kvHead * G + qi % G;
    var v = 0.0;
    if (row < rows) { v = q[row * qDim + head * HD + i % HD] * params.scale; }
    qs[i] = v;
    acc[i] = 0.0;
  }
  for (var i = lid; i < BQ; i += WG) {
    mrun[i] = NEG;
    lrun[i] = 0.0;
  }
  workgroupBarrier();

  var lowSlot = 0u;
  for (var iter = 0u; iter < br; iter++) {
    // the next slot among the tile's rows, and the longest span (pos + 1) of its rows
    if (lid == 0u) {
      var cur = NONE;
      for (var r = 0u; r < br; r++) {
        if (rslot[r] != NONE && rslot[r] >= lowSlot) { cur = min(cur, rslot[r]); }
      }
      var span = 0u;
      for (var r = 0u; r < br; r++) {
        if (rslot[r] == cur) { span = max(span, rpos[r] + 1u); }
      }
      wCur = cur;
      wSpan = span;
    }
    let cur = workgroupUniformLoad(&wCur);
    let span = workgroupUniformLoad(&wSpan);
    if (cur == NONE) { break; }
    lowSlot = cur + 1u;
    let chunk = (span + nSplits - 1u) / nSplits;
    let kStart = split * chunk;
    let kEnd = min(kStart + chunk, span);

    for (var t0 = kStart; t0 < kEnd; t0 += BK) {
      loadTile(true, lid, cur, t0, kEnd, kvHead);
      workgroupBarrier();
      // scores of every (query vector, position) pair of the tile; masked ones are -inf
      for (var i = lid; i < BQ * bk; i += WG) {
        let qi = i / BK;
        let c = i % BK;
        let r = qi / G;
        let p = t0 + c;
        var s = NEG;
        if (rslot[r] == cur && p <= rpos[r] && p < kEnd) {
          var dot = 0.0;
          for (var d = 0u; d < hd; d++) { dot += qs[qi * HD + d] * kv[c * (HD + PAD) + d]; }
          s = dot;
        }
        sc[qi * (BK + PAD) + c] = s;
      }
      workgroupBarrier();
      // online softmax: new running max, rescale factor, p = exp(s - m)
      for (var qi = lid; qi < BQ; qi += WG) {
        let mOld = mrun[qi];
        var mNew = mOld;
        for (var c = 0u; c < bk; c++) { mNew = max(mNew, sc[qi * (BK + PAD) + c]); }
        var a = 1.0;
        var sum = 0.0;
        if (mNew > mOld) { a = exp(mOld - mNew); }
        for (var c = 0u; c < params.bk; c++) {
          let s = sc[qi * (BK + PAD) + c];
          var pv = 0.0;
          if (s > -3.0e38) { pv = exp(s - mNew); }
          sc[qi * (BK + PAD) + c] = pv;
          sum += pv;
        }
        mrun[qi] = mNew;
        lrun[qi] = lrun[qi] * a + sum;
        alpha[qi] = a;
      }
      workgroupBarrier();
      loadTile(false, lid, cur, t0, kEnd, kvHead);
      workgroupBarrier();
      for (var i = lid; i < BQ * hd; i += WG) {
        let qi = i / HD;
        let d = i % HD;
        var s = 0.0;
        for (var c = 0u; c < bk; c++) { s += sc[qi * (BK + PAD) + c] * kv[c * (HD + PAD) + d]; }
        acc[i] = acc[i] * alpha[qi] + s;
      }
      workgroupBarrier();
    }
  }

  for (var i = lid; i < BQ * hd; i += WG) {
    let qi = i / HD;
    let d = i % HD;
    let row = row0 + qi / G;
    let head = kvHead * G + qi % G;
    if (row >= rows) { continue; }
    if (PARTIAL) {
      let index = (row * params.nHeads + head) * nSplits + split;
      if (index >= params.partRecords) { continue; }
      let rec = 4u + index * (4u + HD);
      if (d == 0u) {
        part[rec] = mrun[qi];
        part[rec + 1u] = lrun[qi];
      }
      if (i == 0u && split == 0u && kvHead == 0u && row == 0u) { part[0] = f32(nSplits); }
      part[rec + 4u + d] = acc[i];
    } else {
      let l = lrun[qi];
      var o = 0.0;
      if (l > 0.0) { o = acc[i] / l; }
      outp[row * qDim + head * HD + d] = o;
    }
  }
}

// combine: lane = (split group sg of CG = WG / ceil(HD/4), 4 dims); a group merges splits sg, sg + CG, ... online
// (its records' loads do not wait on each other), then the groups are merged through workgroup memory.
var<workgroup> cm: array<f32, WG>;
var<workgroup> cl: array<f32, WG>;
var<workgroup> cacc: array<f32, WG * 4u>;
var<workgroup> cN: u32;

@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let row = wid.y;
  if (lid == 0u) { cN = u32(part[0]); }
  let nSplits = workgroupUniformLoad(&cN);
  let base = (row * params.nHeads + head) * nSplits;
  let stride = 4u + HD;
  if (base + nSplits > params.partRecords) { return; }
  let nc = (HD + 3u) / 4u; // 4-dim chunks of a record
  let cg = WG / nc;        // split groups
  let c = lid % nc;
  let sg = lid / nc;
  var m = NEG;
  var l = 0.0;
  var a = vec4<f32>(0.0);
  if (sg < cg) {
    for (var s = sg; s < nSplits; s += cg) {
      let rec = 4u + (base + s) * stride;
      let ms = part[rec];
      if (ms <= -3.0e38) { continue; }
      let d = 4u * c;
      var v = vec4<f32>(0.0);
      for (var e = 0u; e < 4u; e++) {
        if (d + e < HD) { v[e] = part[rec + 4u + d + e]; }
      }
      let mNew = max(m, ms);
      let f = exp(m - mNew);
      let fs = exp(ms - mNew);
      a = a * f + v * fs;
      l = l * f + part[rec + 1u] * fs;
      m = mNew;
    }
  }
  if (c == 0u) {
    cm[sg] = m;
    cl[sg] = l;
  }
  workgroupBarrier();
  var mMax = NEG;
  for (var g = 0u; g < cg; g++) { mMax = max(mMax, cm[g]); }
  var lt = 0.0;
  for (var g = 0u; g < cg; g++) {
    if (cm[g] > -3.0e38) { lt += cl[g] * exp(cm[g] - mMax); }
  }
  if (sg < cg) {
    var f = 0.0;
    if (m > -3.0e38) { f = exp(m - mMax); }
    for (var e = 0u; e < 4u; e++) { cacc[sg * nc * 4u + 4u * c + e] = a[e] * f; }
  }
  workgroupBarrier();
  let qDim = params.nHeads * HD;
  for (var d = lid; d < HD; d += WG) {
    var o = 0.0;
    for (var g = 0u; g < cg; g++) { o += cacc[g * nc * 4u + d]; }
    if (lt > 0.0) { o = o / lt; }
    outp[row * qDim + head * HD + d] = o;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Entry `decode` (the decode path where every position's kv-head vector is whole 16-byte chunks: headDim a
// multiple of 8 for f16, of 4 for f32, of 16 for q8). Dispatch (nSplits, nKvHeads * HG, rows), HG = ceil(G / GW) head groups.
// A workgroup scores GW (<= MAXG) query heads of one kv head over its split's positions [kStart, kEnd), reading
// K and V straight from storage as vec4<u32> chunks (8 f16, 4 f32 or 16 q8 values; L = HD / VPC chunks a position), in
// blocks of DBK positions. The V step's lane (c_v = lid % L, position group jv = lid / L of PV = WG / L) takes
// chunk c_v of positions jv, jv + PV, ... of a block (NV of them); each position group keeps its own online
// softmax state (m, l per head: like a split of its own), so no step waits on a block-wide maximum. Per block,
// two barriers:
//   1. each lane first issues the loads of its V chunks (kept in registers, so they arrive while K is scored),
//      then scores: T lanes per position (lane s takes chunks s, s+T, ...) compute partial dot products with all
//      GW query vectors (workgroup memory, pre-scaled) into dred[g][j][s];
//   2. one lane per (head, position group): the group's NV scores (sums of T partials, masked: -inf; q8: times
//      the position's K scale), its new running max m, rescale factor alpha, p = exp(s - m) and l (f32; q8: the p
//      that weighs V is p times the position's V scale, l sums p);
//   then each lane rescales its accumulators (GW x VPC values in registers) by alpha and adds p * v.
// At the end, one head at a time, the position groups are merged (M = max m, acc e^(m - M), l e^(m - M)) through
// workgroup memory. One split (nSplits = 1): out = acc / l directly (no combine dispatch); more: the partial
// record as entry `main` writes it. No subgroup operations. Bindings 7, 8 are the K and V caches seen as
// vec4<u32> (the same buffers as 3, 4).
// Workgroup memory: 4 * (GW*HD + RED + GW*DBK + 3*GW*PV) + 8 bytes, RED = max(GW*DBK*T, PV*HD).

const MAXG: u32 = 8u; // query heads of one decode workgroup at most (their accumulators live in registers)
const MAXV: u32 = 8u; // V chunks a lane loads per block at most

override GW: u32 = 1u;   // query heads per decode workgroup
override T: u32 = 1u;    // lanes per position in the score step (a power of two)
override DBK: u32 = 32u; // positions per block
override RED: u32 = 128u; // floats of the reduction scratch

@group(0) @binding(7) var<storage, read> kc4: array<vec4<u32>>;
@group(0) @binding(8) var<storage, read> vc4: array<vec4<u32>>;

var<workgroup> dq: array<f32, GW * HD>;   // query vectors, pre-scaled
var<workgroup> dred: array<f32, RED>;     // partial dot products [GW][DBK][T]; at the end [WG / L][HD]
var<workgroup> dsc: array<f32, GW * DBK>; // p of the block's positions
// online softmax state per (head, position group): running max, sum, this block's rescale factor
var<workgroup> dm: array<f32, GW * (WG / (HD / select(select(4u, 16u, KV_Q8), 8u, KV_F16)))>;
var<workgroup> dl: array<f32, GW * (WG / (HD / select(select(4u, 16u, KV_Q8), 8u, KV_F16)))>;
var<workgroup> dalpha: array<f32, GW * (WG / (HD / select(select(4u, 16u, KV_Q8), 8u, KV_F16)))>;
var<workgroup> dPos: u32;
var<workgroup> dSlot: u32;

struct Chunk { a: vec4<f32>, b: vec4<f32>, c: vec4<f32>, d: vec4<f32> }

// one 16-byte chunk as values: 8 f16 (a, b), 4 f32 (a) or 16 q8 codes (a, b, c, d; unscaled)
fn unpackChunk(w: vec4<u32>) -> Chunk {
  let z = vec4<f32>(0.0);
  if (KV_Q8) { return Chunk(i8x4(w.x), i8x4(w.y), i8x4(w.z), i8x4(w.w)); }
  if (KV_F16) {
    return Chunk(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)), z, z);
  }
  return Chunk(bitcast<vec4<f32>>(w), z, z, z);
}

// a q8 position's scale (kv head kvHead of (slot, p)) through the vec4 view of its cache
fn scale4(isK: bool, slot: u32, p: u32, kvHead: u32) -> f32 {
  let sw = params.scaleWord + (slot * params.context + p) * params.nKvHeads + kvHead;
  if (isK) { return bitcast<f32>(kc4[sw / 4u][sw % 4u]); }
  return bitcast<f32>(vc4[sw / 4u][sw % 4u]);
}

@compute @workgroup_size(WG)
fn decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
  let VPC = select(select(4u, 16u, KV_Q8), 8u, KV_F16);
  let WIDE = KV_F16 || KV_Q8; // chunk part b holds values
  let L = HD / VPC;      // chunks of one position
  let P = WG / T;        // positions scored at once
  let PV = WG / L;       // position groups of the V step
  let NV = (DBK + PV - 1u) / PV;
  let bk = params.bk;
  let hd = params.hd;
  let rows = nwg.z;
  let split = wid.x;
  let nSplits = nwg.x;
  let hgCount = (G + GW - 1u) / GW;
  let kvHead = wid.y / hgCount;
  let h0 = (wid.y % hgCount) * GW; // first head of the group, within the kv head's G
  let nh = min(GW, G - h0);
  let row = wid.z;
  let qDim = params.nHeads * HD;

  if (lid == 0u) {
    let m = rowMeta[row];
    var span = 0u;
    var slot = 0u;
    if (m.x < params.context && m.y < params.slots) { span = m.x + 1u; slot = m.y; }
    dPos = span;
    dSlot = slot;
  }
  for (var i = lid; i < GW * hd; i += WG) {
    let g = i / HD;
    var v = 0.0;
    if (g < nh) { v = q[row * qDim + (kvHead * G + h0 + g) * HD + i % HD] * params.scale; }
    dq[i] = v;
  }
  for (var i = lid; i < GW * PV; i += WG) {
    dm[i] = NEG;
    dl[i] = 0.0;
  }
  let span = workgroupUniformLoad(&dPos);
  let slot = workgroupUniformLoad(&dSlot);
  let chunk = (span + nSplits - 1u) / nSplits;
  let kStart = min(split * chunk, span);
  let kEnd = min(kStart + chunk, span);
  // chunk index of position p's vector of this kv head
  let cBase = (slot * params.context * params.nKvHeads + kvHead) * L;
  let cStride = params.nKvHeads * L;

  let cv = lid % L;
  let jv = lid / L;
  let s = lid % T;
  let j0 = lid / T;
  var av: array<Chunk, MAXG>;
  for (var g = 0u; g < GW; g++) { av[g] = Chunk(vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0), vec4<f32>(0.0)); }

  for (var t0 = kStart; t0 < kEnd; t0 += DBK) {
    // this lane's V chunks of the block, loaded first so they arrive while K is scored
    var vw: array<vec4<u32>, MAXV>;
    for (var k = 0u; k < NV; k++) {
      let j = jv + k * PV;
      var w = vec4<u32>(0u);
      if (jv < PV && j < bk && t0 + j < kEnd) { w = vc4[cBase + (t0 + j) * cStride + cv]; }
      vw[k] = w;
    }
    // partial dot products of T lanes per position with every query vector
    if (j0 < P) {
      for (var j = j0; j < bk; j += P) {
        var pd: array<f32, MAXG>;
        for (var g = 0u; g < GW; g++) { pd[g] = 0.0; }
        if (t0 + j < kEnd) {
          let pb = cBase + (t0 + j) * cStride;
          for (var c = s; c < L; c += T) {
            let kk = unpackChunk(kc4[pb + c]);
            for (var g = 0u; g < GW; g++) {
              let o = g * HD + c * VPC;
              var d = dot(vec4<f32>(dq[o], dq[o + 1u], dq[o + 2u], dq[o + 3u]), kk.a);
              if (WIDE) { d += dot(vec4<f32>(dq[o + 4u], dq[o + 5u], dq[o + 6u], dq[o + 7u]), kk.b); }
              if (KV_Q8) {
                d += dot(vec4<f32>(dq[o + 8u], dq[o + 9u], dq[o + 10u], dq[o + 11u]), kk.c);
                d += dot(vec4<f32>(dq[o + 12u], dq[o + 13u], dq[o + 14u], dq[o + 15u]), kk.d);
              }
              pd[g] += d;
            }
          }
        }
        for (var g = 0u; g < GW; g++) { dred[(g * DBK + j) * T + s] = pd[g]; }
      }
    }
    workgroupBarrier();
    // online softmax of each (head, position group) over its positions of the block
    for (var i = lid; i < GW * PV; i += WG) {
      let g = i / PV;
      let jg = i % PV;
      var sv: array<f32, MAXV>;
      let mOld = dm[i];
      var mNew = mOld;
      for (var k = 0u; k < NV; k++) {
        let j = jg + k * PV;
        var sc = NEG;
        if (g < nh && j < bk && t0 + j < kEnd) {
          var sum = 0.0;
          for (var r = 0u; r < T; r++) { sum += dred[(g * DBK + j) * T + r]; }
          if (KV_Q8) { sum *= scale4(true, slot, t0 + j, kvHead); }
          sc = sum;
        }
        sv[k] = sc;
        mNew = max(mNew, sc);
      }
      var a = 1.0;
      if (mNew > mOld) { a = exp(mOld - mNew); }
      var sum = 0.0;
      for (var k = 0u; k < NV; k++) {
        let j = jg + k * PV;
        var pv = 0.0;
        if (sv[k] > -3.0e38) { pv = exp(sv[k] - mNew); }
        var pw = pv;
        if (KV_Q8 && pv != 0.0) { pw *= scale4(false, slot, t0 + j, kvHead); }
        if (j < bk) { dsc[g * DBK + j] = pw; }
        sum += pv;
      }
      dm[i] = mNew;
      dl[i] = dl[i] * a + sum;
      dalpha[i] = a;
    }
    workgroupBarrier();
    if (jv < PV) {
      for (var g = 0u; g < GW; g++) {
        let a = dalpha[g * PV + jv];
        av[g].a *= a;
        if (WIDE) { av[g].b *= a; }
        if (KV_Q8) {
          av[g].c *= a;
          av[g].d *= a;
        }
      }
      for (var k = 0u; k < NV; k++) {
        let j = jv + k * PV;
        if (j >= bk) { break; }
        let v = unpackChunk(vw[k]);
        for (var g = 0u; g < GW; g++) {
          let pw = dsc[g * DBK + j];
          av[g].a += pw * v.a;
          if (WIDE) { av[g].b += pw * v.b; }
          if (KV_Q8) {
            av[g].c += pw * v.c;
            av[g].d += pw * v.d;
          }
        }
      }
    }
  }

  // merge the position groups, one head at a time: M = max m, acc e^(m - M), l e^(m - M)
  for (var g = 0u; g < GW; g++) {
    workgroupBarrier();
    var mMax = NEG;
    for (var r = 0u; r < PV; r++) { mMax = max(mMax, dm[g * PV + r]); }
    var l = 0.0;
    for (var r = 0u; r < PV; r++) {
      let m = dm[g * PV + r];
      if (m > -3.0e38) { l += dl[g * PV + r] * exp(m - mMax); }
    }
    if (jv < PV) {
      let m = dm[g * PV + jv];
      var f = 0.0;
      if (m > -3.0e38) { f = exp(m - mMax); }
      let o = jv * HD + cv * VPC;
      for (var e = 0u; e < 4u; e++) { dred[o + e] = av[g].a[e] * f; }
      if (WIDE) {
        for (var e = 0u; e < 4u; e++) { dred[o + 4u + e] = av[g].b[e] * f; }
      }
      if (KV_Q8) {
        for (var e = 0u; e < 4u; e++) {
          dred[o + 8u + e] = av[g].c[e] * f;
          dred[o + 12u + e] = av[g].d[e] * f;
        }
      }
    }
    workgroupBarrier();
    if (g >= nh) { continue; }
    let head = kvHead * G + h0 + g;
    for (var d = lid; d < hd; d += WG) {
      var o = 0.0;
      for (var r = 0u; r < PV; r++) { o += dred[r * HD + d]; }
      if (nSplits == 1u) {
        var ov = 0.0;
        if (l > 0.0) { ov = o / l; }
        outp[row * qDim + head * HD + d] = ov;
      } else {
        let index = (row * params.nHeads + head) * nSplits + split;
        if (index >= params.partRecords) { continue; }
        let rec = 4u + index * (4u + HD);
        if (d == 0u) {
          part[rec] = mMax;
          part[rec + 1u] = l;
        }
        part[rec + 4u + d] = o;
      }
    }
  }
  if (nSplits > 1u && lid == 0u && split == 0u && wid.y == 0u && row == 0u) { part[0] = f32(nSplits); }
}
