// RoPE (rotate-half / neox) on q and k, and append of k, v to one layer's KV cache, in one pass.
// The model runs this as the qkv matmul's epilogue instead (shaders/rope-epilogue.wgsl); this separate pass is
// kept for head dimensions that are not multiples of 4 (GpuModelOptions.fuseRope).
//   for i < half = headDim/2, with (cos, sin) = table[pos, i]:
//     out[i]        = x[i] * cos - x[i + half] * sin
//     out[i + half] = x[i + half] * cos + x[i] * sin
// Bindings (group 0):
//   0 uniform  params { nHeads, nKvHeads, headDim, context, slots, scaleWord }
//   1 storage  qkv:   array<f32>        [rows, qDim + 2*kvDim]  read (q, k, v per row, bias added)
//   2 storage  rowMeta: array<vec2<u32>>  [maxRows]               read ((pos, slot) per row)
//   3 storage  table: array<vec2<f32>>  [context, half]         read ((cos, sin), angles built in f64 on the CPU)
//   4 storage  qOut:  array<f32>        [rows, qDim]            write (rotated q)
//   5 storage  kc:    array<u32>        [slots, context, kvDim] K cache (f16: 2 per u32, f32: bitcast; q8: 4 int8
//                                                               per u32, then [slots, context, nKvHeads] f32 scales
//                                                               from word scaleWord)
//   6 storage  vc:    array<u32>        [slots, context, kvDim] V cache, same format
// Dispatch: (ceil(W / WG), rows, 1), W = (qDim + 2*kvDim) / 2: each thread handles one pair of adjacent
// elements (2w, 2w+1) of its row (one u32 of an f16 cache), so headDim must be even.
// f16 caches store values clamped to ±65504 (the CPU twin, src/cpu/rope.ts, does the same).
// A row whose pos >= context or slot >= slots writes nothing (the engine never sends one).
// Entry `q8` (the q8 cache): dispatch (nHeads + 2*nKvHeads, rows, 1): one workgroup per head vector (q heads,
// then k heads, then v heads), so the vector's amax is one workgroup reduction. scale = amax / 127 (f32),
// code = round(x / scale) (ties to even) within ±127; a zero vector stores scale 0 and codes 0. headDim a
// multiple of 4 (a word holds 4 codes of one vector, the lowest byte first).
// Overrides: WG (threads per workgroup), KV_F16 (cache format, entry `main`).

struct Params { nHeads: u32, nKvHeads: u32, headDim: u32, context: u32, slots: u32, scaleWord: u32 }

override WG: u32 = 64;
override KV_F16: bool = true;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
@group(0) @binding(2) var<storage, read> rowMeta: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> table: array<vec2<f32>>;
@group(0) @binding(4) var<storage, read_write> qOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> kc: array<u32>;
@group(0) @binding(6) var<storage, read_write> vc: array<u32>;

// element j (head-local) of the head vector starting at qkv[base], rotated to position pos
fn rotated(base: u32, j: u32, pos: u32) -> f32 {
  let half = params.headDim / 2u;
  if (j < half) {
    let cs = table[pos * half + j];
    return qkv[base + j] * cs.x - qkv[base + j + half] * cs.y;
  }
  let cs = table[pos * half + j - half];
  return qkv[base + j] * cs.x + qkv[base + j - half] * cs.y;
}

fn store(cacheIsK: bool, word: u32, a: f32, b: f32) {
  if (KV_F16) {
    // pack2x16float is undefined past the f16 range: clamp to ±65504 (the largest finite f16)
    let w = pack2x16float(clamp(vec2<f32>(a, b), vec2<f32>(-65504.0), vec2<f32>(65504.0)));
    if (cacheIsK) { kc[word] = w; } else { vc[word] = w; }
  } else {
    if (cacheIsK) {
      kc[2u * word] = bitcast<u32>(a);
      kc[2u * word + 1u] = bitcast<u32>(b);
    } else {
      vc[2u * word] = bitcast<u32>(a);
      vc[2u * word + 1u] = bitcast<u32>(b);
    }
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let hd = params.headDim;
  let qDim = params.nHeads * hd;
  let kvDim = params.nKvHeads * hd;
  let width = qDim + 2u * kvDim;
  let w = gid.x;
  if (2u * w >= width) { return; }
  let row = gid.y;
  let m = rowMeta[row];
  let pos = m.x;
  let slot = m.y;
  if (pos >= params.context || slot >= params.slots) { return; }
  let d = 2u * w;
  let rowBase = row * width;
  // word index of this row's (slot, pos) entry in the cache, in pairs of elements
  let cacheWord = ((slot * params.context + pos) * kvDim) / 2u;
  if (d < qDim) {
    let headBase = rowBase + (d / hd) * hd;
    let j = d % hd;
    qOut[row * qDim + d] = rotated(headBase, j, pos);
    qOut[row * qDim + d + 1u] = rotated(headBase, j + 1u, pos);
  } else if (d < qDim + kvDim) {
    let c = d - qDim;
    let headBase = rowBase + qDim + (c / hd) * hd;
    let j = c % hd;
    store(true, cacheWord + c / 2u, rotated(headBase, j, pos), rotated(headBase, j + 1u, pos));
  } else {
    let c = d - qDim - kvDim;
    store(false, cacheWord + c / 2u, qkv[rowBase + d], qkv[rowBase + d + 1u]);
  }
}

var<workgroup> red: array<f32, WG>;
var<workgroup> wScale: f32;

@compute @workgroup_size(WG)
fn q8(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let hd = params.headDim;
  let qDim = params.nHeads * hd;
  let kvDim = params.nKvHeads * hd;
  let width = qDim + 2u * kvDim;
  let row = wid.y;
  let m = rowMeta[row];
  let pos = m.x;
  let slot = m.y;
  if (pos >= params.context || slot >= params.slots) { return; }
  let vec = wid.x; // head vector: q heads, k heads, v heads
  let base = row * width + vec * hd;
  if (vec < params.nHeads) {
    for (var j = lid; j < hd; j += WG) { qOut[row * qDim + vec * hd + j] = rotated(base, j, pos); }
    return;
  }
  let isK = vec < params.nHeads + params.nKvHeads;
  var amax = 0.0;
  for (var j = lid; j < hd; j += WG) {
    var x = qkv[base + j];
    if (isK) { x = rotated(base, j, pos); }
    amax = max(amax, abs(x));
  }
  red[lid] = amax;
  workgroupBarrier();
  if (lid == 0u) {
    var a = 0.0;
    for (var i = 0u; i < WG; i++) { a = max(a, red[i]); }
    wScale = a / 127.0;
  }
  let scale = workgroupUniformLoad(&wScale);
  var kvHead = vec - params.nHeads;
  if (!isK) { kvHead -= params.nKvHeads; }
  let entry = (slot * params.context + pos) * params.nKvHeads + kvHead;
  let word0 = entry * (hd / 4u); // the vector's first word (nKvHeads * hd / 4 words a position)
  for (var w = lid; w < hd / 4u; w += WG) {
    var packed = 0u;
    for (var e = 0u; e < 4u; e++) {
      let j = 4u * w + e;
      var x = qkv[base + j];
      if (isK) { x = rotated(base, j, pos); }
      var c = 0.0;
      if (scale > 0.0) { c = clamp(round(x / scale), -127.0, 127.0); }
      packed |= (bitcast<u32>(i32(c)) & 0xffu) << (8u * e);
    }
    if (isK) { kc[word0 + w] = packed; } else { vc[word0 + w] = packed; }
  }
  if (lid == 0u) {
    if (isK) { kc[params.scaleWord + entry] = bitcast<u32>(scale); } else { vc[params.scaleWord + entry] = bitcast<u32>(scale); }
  }
}
