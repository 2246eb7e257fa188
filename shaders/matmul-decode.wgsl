// Matrix-vector product for decode (1 to 16 rows): for r < rows and n in this weight chunk,
//   acc[r, n] = x[r, :] · W[n, :]            (W dequantized on the fly, any format: weight-formats.wgsl)
//   v = acc * invRms(x[r, :])  (norm)  + bias[rowStart + n]  (bias)
//   y[r, rowStart + n] = v, or y += v (residual); swiglu: y[r, (rowStart + n) / 2] = silu(v[n]) * v[n + 1]
//   for the interleaved gate/up pair (n even).
//   gain: W's column k is scaled by gain[k] as it is decoded (a norm gain that cannot be folded into W at load:
//   the final norm's, when the LM head shares the embedding's matrix).
//   embed (layer 0's qkv, decode steps): x is not read from a buffer: x[r, :] is row tokens[r] of the embedding
//   table (the weight's format; its rows have W's row layout), dequantized where x is loaded (the RMS too);
//   the chunk's first workgroup also writes those rows to x (bound read_write) for the later residual adds.
//   A token >= embedRows reads as a zero row.
//   rope: the workgroup's outputs are staged in workgroup memory, then its aligned row quads are rotated and
//   written to q (y) and the KV cache (shaders/rope-epilogue.wgsl, its bindings 6..10); LR is a multiple of 4.
// Bindings (group 0):
//   0 uniform  p: Params (per chunk)
//   1 storage  x:      array<f32> [rows, K], or array<vec4<f32>> [rows, K / 4] when xvec (K % 8 == 0)  read
//   2 storage  wq:     array<u32> [nChunk, wordsPerRow], or array<vec4<u32>> when wvec (q4) read
//   3 storage  scales: array<f32> [nChunk, groupsPerRow] read (q4/q8 only)
//   4 storage  bias:   array<f32> [N]                  read (bias only)
//   5 storage  y:      array<f32> [rows, outStride]    read_write
//  11 storage  gain:   array<f32> [K]                  read (gain only)
//  12 storage  etok:   array<u32> [rows]               read (embed only: the step's token ids)
//  13 storage  ew:     array<u32> [embedRows, wordsPerRow] read (embed only: the table's words)
//  14 storage  escales: array<f32> [embedRows, groupsPerRow] read (embed, q4/q8 only)
// Group 1: 0 uniform rowsU { rows } (the step's row count; one small bind group per count, made at load).
// Dispatch: ceil(nChunk / LR) workgroups, folded into (x, y) as id.y * nwg.x + id.x.
// Tiling: a workgroup of WG threads is WG / TPR lane groups of TPR threads; lane group g owns the NR consecutive
// output rows n0 + g * NR + q (q < NR), so a workgroup covers LR = NR * WG / TPR rows (decodeTiling in
// matmul.ts picks WG, TPR, NR per adapter and shape). A row is split into units of 32 values (4 blocks of 8; one
// q4/q8 scale group; one vec4<u32> load of q4 words): lane t takes units t, t + TPR, ..., so consecutive lanes
// read consecutive 16-byte words. Each weight unit is decoded once and applied to every x row of the step
// (up to 16, as 4 quads of vec4 accumulators), so each weight byte is read once per step whatever the rows.
// A lane group's NR rows go in passes of up to 4 rows (a..d; rows b..d exist only where NR allows, a condition
// the compiler folds): a pass decodes its rows' blocks of a unit, then loads each x block ONCE and applies it
// to all of them (4 accumulator sets), so x is read ceil(NR / 4) times per lane, not NR times.
// x is read straight from storage (small, cached). Accumulators are vec4 quads (component c = x row 4 * quad + c)
// behind uniform `rows > r` branches. Lane partials are reduced with
// subgroupShuffleXor / subgroupAdd when subgroups exist and through workgroup memory otherwise (or across
// subgroups when TPR > subgroup size). No layout of subgroups is assumed: each subgroup takes a run of
// `subgroup_size` virtual lane indices (its index from a workgroup atomic), and lanes are numbered by
// subgroup_invocation_id, so a lane group always lies inside one subgroup (or spans whole subgroups).
// The RMS norm's sums of squares are gathered once per lane before the passes, over the lane's own units, and
// reduced like the dot products (x̂·w = invRms · (x·w)): one more read of x, none per output row.
// Overrides: WG (power of two), TPR (power of two <= WG), NR (rows a lane group owns; even for swiglu).
// The quad loop runs ceil(rows / 4) times; quads are picked by switches (get4/set4), never by a dynamic index.
//#if subgroups
enable subgroups;
//#endif

struct Params {
  K: u32,            // input width (x row length)
  wordsPerRow: u32,
  groupsPerRow: u32,
  nChunk: u32,       // weight rows in this chunk
  rowStart: u32,     // first weight row of this chunk
  outStride: u32,    // y row length: N, or N / 2 for swiglu
  eps: f32,
  unitBlocks: u32,   // 4: blocks of 8 in a unit of 32 (a uniform, so compilers keep the block loop a loop)
//#if embed
  embedRows: u32,    // rows of the embedding table
  _e0: u32,
  _e1: u32,
  _e2: u32,
//#endif
}

struct RowsParams { rows: u32, _p0: u32, _p1: u32, _p2: u32 }

override WG: u32 = 256u;
override TPR: u32 = 32u;
override NR: u32 = 2u;
override GPW: u32 = WG / TPR;  // lane groups per workgroup
override LR: u32 = NR * GPW;   // output rows per workgroup

@group(0) @binding(0) var<uniform> p: Params;
//#if embed
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(12) var<storage, read> etok: array<u32>;
@group(0) @binding(13) var<storage, read> ew: array<u32>;
//#if scaled
@group(0) @binding(14) var<storage, read> escales: array<f32>;
//#endif
//#else
//#if xvec
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
//#endif
//#endif
//#if wvec
@group(0) @binding(2) var<storage, read> wq: array<vec4<u32>>;
//#else
@group(0) @binding(2) var<storage, read> wq: array<u32>;
//#endif
//#if scaled
@group(0) @binding(3) var<storage, read> scales: array<f32>;
//#endif
//#if bias
@group(0) @binding(4) var<storage, read> bias: array<f32>;
//#endif
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
//#if gain
@group(0) @binding(11) var<storage, read> gain: array<f32>;
//#endif
@group(1) @binding(0) var<uniform> rowsU: RowsParams;

// [WG] lane partials of a reduction that does not fit one subgroup (every reduction without subgroups)
var<workgroup> red: array<vec4<f32>, WG>;
// subgroups met so far in this workgroup (each takes the next run of virtual lane indices)
var<workgroup> sgCount: atomic<u32>;
//#if rope
// [LR, 16] the workgroup's outputs (bias added) by local row and x row, for the RoPE quads
var<workgroup> staged: array<f32, LR * 16u>;
//#endif

//#if embed
// block b of embedding row t (values past K read as 0)
fn embed_block(t: u32, b: u32) -> Block {
  let base = t * p.wordsPerRow;
  let wpr = p.wordsPerRow;
  var blk = Block(vec4<f32>(0.0), vec4<f32>(0.0));
//#if fmt_q4
  blk = scaled8(q4_block(ew[base + b]), escales[t * p.groupsPerRow + b / 4u]);
//#endif
//#if fmt_q8
  blk = scaled8(Block(signed_bytes(ew[base + 2u * b]), signed_bytes(ew[base + 2u * b + 1u])), escales[t * p.groupsPerRow + b / 4u]);
//#endif
//#if fmt_f16
  var w = vec4<u32>(0u);
  for (var j = 0u; j < 4u; j++) {
    if (4u * b + j < wpr) { w[j] = ew[base + 4u * b + j]; }
  }
  blk = Block(vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)), vec4<f32>(unpack2x16float(w.z), unpack2x16float(w.w)));
//#endif
//#if fmt_f32
  for (var j = 0u; j < 4u; j++) {
    if (8u * b + j < wpr) { blk.lo[j] = bitcast<f32>(ew[base + 8u * b + j]); }
    if (8u * b + 4u + j < wpr) { blk.hi[j] = bitcast<f32>(ew[base + 8u * b + 4u + j]); }
  }
//#endif
  let k = vec4<u32>(8u * b) + vec4<u32>(0u, 1u, 2u, 3u);
  return Block(select(vec4<f32>(0.0), blk.lo, k < vec4<u32>(p.K)), select(vec4<f32>(0.0), blk.hi, k + vec4<u32>(4u) < vec4<u32>(p.K)));
}
//#endif

// block b (8 values) of x row r (b < the row's block count; values past K read as 0)
fn load_x(r: u32, b: u32) -> Block {
//#if embed
  let t = etok[r];
  if (t >= p.embedRows) { return Block(vec4<f32>(0.0), vec4<f32>(0.0)); }
  return embed_block(t, b);
//#else
//#if xvec
  let i = (r * p.K) / 4u + 2u * b;
  return Block(x[i], x[i + 1u]);
//#else
  let k = vec4<u32>(8u * b) + vec4<u32>(0u, 1u, 2u, 3u);
  let last = p.K - 1u;
  let base = r * p.K;
  let lo = vec4<f32>(x[base + min(k.x, last)], x[base + min(k.y, last)], x[base + min(k.z, last)], x[base + min(k.w, last)]);
  let k4 = k + vec4<u32>(4u);
  let hi = vec4<f32>(x[base + min(k4.x, last)], x[base + min(k4.y, last)], x[base + min(k4.z, last)], x[base + min(k4.w, last)]);
  return Block(select(vec4<f32>(0.0), lo, k < vec4<u32>(p.K)), select(vec4<f32>(0.0), hi, k4 < vec4<u32>(p.K)));
//#endif
//#endif
}

fn dot8(a: Block, b: Block) -> f32 {
  return dot(a.lo, b.lo) + dot(a.hi, b.hi);
}

fn scaled8(a: Block, s: f32) -> Block {
  return Block(a.lo * s, a.hi * s);
}

// Sum of v over the TPR lanes of this lane group; every lane of the group gets the total. vl: the virtual lane
// index (subgroups are aligned runs of it). Called in uniform control flow by the whole workgroup.
fn reduce_lanes(v: vec4<f32>, vl: u32, sgSize: u32) -> vec4<f32> {
  var t = v;
  if (TPR == 1u) { return t; }
//#if subgroups
  if (TPR == sgSize) {
    return subgroupAdd(t);
  }
  if (TPR < sgSize) {
    for (var m = TPR / 2u; m > 0u; m >>= 1u) { t += subgroupShuffleXor(t, m); }
    return t;
  }
  // TPR > sgSize: whole subgroups, then their totals through workgroup memory
  t = subgroupAdd(t);
  workgroupBarrier();
  red[vl] = t;
  workgroupBarrier();
  let g0 = vl - vl % TPR;
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < TPR; i += sgSize) { s += red[g0 + i]; }
  return s;
//#else
  workgroupBarrier();
  red[vl] = t;
  workgroupBarrier();
  let g0 = vl - vl % TPR;
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < TPR; i++) { s += red[g0 + i]; }
  return s;
//#endif
}

//#if gain
// block b of the gain vector (columns past K get any finite gain: their x is 0), applied to every weight row's block
fn gain_block(b: u32) -> Block {
  let k = vec4<u32>(8u * b) + vec4<u32>(0u, 1u, 2u, 3u);
  let last = vec4<u32>(p.K - 1u);
  let k4 = min(k + vec4<u32>(4u), last);
  let kl = min(k, last);
  return Block(vec4<f32>(gain[kl.x], gain[kl.y], gain[kl.z], gain[kl.w]), vec4<f32>(gain[k4.x], gain[k4.y], gain[k4.z], gain[k4.w]));
}

fn mul8(a: Block, b: Block) -> Block {
  return Block(a.lo * b.lo, a.hi * b.hi);
}
//#endif

fn write_row(r: u32, n: u32, v: f32) {
  let o = r * p.outStride + p.rowStart + n;
//#if residual
  y[o] = y[o] + v;
//#else
  y[o] = v;
//#endif
}

// block j (< 4) of unit u of the row starting at word `base`, scale applied. `words`: the unit's q4 words (wvec).
fn unit_block(base: u32, u: u32, j: u32, s: f32, words: vec4<u32>) -> Block {
//#if wvec
  return scaled8(q4_block(words[j]), s);
//#else
  return scaled8(load_block(base, 4u * u + j, p.wordsPerRow), s);
//#endif
}

// Quad i of a 4-quad accumulator, through a switch: every array index is a constant, so compilers keep the
// quads in registers even when the quad loop is not unrolled (a dynamic index would put them in memory).
fn get4(a: ptr<function, array<vec4<f32>, 4>>, i: u32) -> vec4<f32> {
  switch i {
    case 0u: { return (*a)[0]; }
    case 1u: { return (*a)[1]; }
    case 2u: { return (*a)[2]; }
    default: { return (*a)[3]; }
  }
}

fn set4(a: ptr<function, array<vec4<f32>, 4>>, i: u32, v: vec4<f32>) {
  switch i {
    case 0u: { (*a)[0] = v; }
    case 1u: { (*a)[1] = v; }
    case 2u: { (*a)[2] = v; }
    default: { (*a)[3] = v; }
  }
}

fn add4(a: ptr<function, array<vec4<f32>, 4>>, i: u32, v: vec4<f32>) {
  set4(a, i, get4(a, i) + v);
}

// One output quad of a row: the lane partials reduced (every lane calls it, in uniform control flow), times the
// norm's inverse RMS, plus the row's bias.
fn finish4(a: vec4<f32>, inv: vec4<f32>, n: u32, vl: u32, sgSize: u32) -> vec4<f32> {
  var v = reduce_lanes(a, vl, sgSize);
//#if norm
  v *= inv;
//#endif
//#if bias
  v += vec4<f32>(bias[p.rowStart + min(n, p.nChunk - 1u)]);
//#endif
  return v;
}

// the quad qd of output row n (chunk row) for x rows 4 * qd + c < rows
fn write4(n: u32, qd: u32, v: vec4<f32>, rows: u32) {
  for (var c = 0u; c < 4u; c++) {
    let r = 4u * qd + c;
    if (rows > r) { write_row(r, n, v[c]); }
  }
}

//#if swiglu
// h = silu(gate) * up for the interleaved pair (n even: gate row n, up row n + 1)
fn write_swiglu4(n: u32, qd: u32, gt: vec4<f32>, up: vec4<f32>, rows: u32) {
  let h = gt / (vec4<f32>(1.0) + exp(-gt)) * up;
  let o = (p.rowStart + n) / 2u;
  for (var c = 0u; c < 4u; c++) {
    let r = 4u * qd + c;
    if (rows > r) { y[r * p.outStride + o] = h[c]; }
  }
}
//#endif

//#if rope
fn stage4(l: u32, qd: u32, v: vec4<f32>) {
  for (var c = 0u; c < 4u; c++) { staged[l * 16u + 4u * qd + c] = v[c]; }
}
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
//#if subgroups
  @builtin(subgroup_size) sgSize: u32,
  @builtin(subgroup_invocation_id) sgLane: u32,
//#endif
) {
//#if subgroups
  // the counter is set here rather than trusted to workgroup zero-initialization (Chromium's SwiftShader
  // left it unset: the lane indices went out of range and nothing was written)
  if (lid == 0u) { atomicStore(&sgCount, 0u); }
  workgroupBarrier();
  var sgIndex = 0u;
  if (sgLane == 0u) { sgIndex = atomicAdd(&sgCount, 1u); }
  let vl = subgroupBroadcast(sgIndex, 0u) * sgSize + sgLane;
//#else
  let sgSize = 1u;
  let vl = lid;
//#endif
  let rows = rowsU.rows;
  // a runtime bound: the quad loop stays a loop (an unrolled 16-row body takes lavapipe minutes to compile)
  let quads = (rows + 3u) / 4u;
  let n0 = (wid.y * nwg.x + wid.x) * LR;  // first chunk row of this workgroup
  if (n0 >= p.nChunk) { return; }
  let g = vl / TPR;
  let lane = vl % TPR;
  let nUnits = (p.K + 31u) / 32u;
  let lastRow = p.nChunk - 1u;
//#if embed
  // the chunk's first workgroup writes the step's embedding rows to x (nobody reads x in this dispatch)
  if (n0 == 0u && p.rowStart == 0u) {
    let nBlocks = (p.K + 7u) / 8u;
    for (var r = 0u; r < rows; r++) {
      for (var b = lid; b < nBlocks; b += WG) {
        let blk = load_x(r, b);
        for (var c = 0u; c < 4u; c++) {
          if (8u * b + c < p.K) { x[r * p.K + 8u * b + c] = blk.lo[c]; }
          if (8u * b + 4u + c < p.K) { x[r * p.K + 8u * b + 4u + c] = blk.hi[c]; }
        }
      }
    }
  }
//#endif

  // the norm's inverse RMS of each x row, from this lane's units (x̂·w = invRms · (x·w)): once, not per output row
  var inv = array<vec4<f32>, 4>();
//#if norm
  var ss = array<vec4<f32>, 4>();
  for (var u = lane; u < nUnits; u += TPR) {
    for (var j = 0u; j < p.unitBlocks; j++) {
      let b = 4u * u + j;
      if (8u * b >= p.K) { break; }
      for (var qd = 0u; qd < quads; qd++) {
        var s2 = vec4<f32>(0.0);
        for (var c = 0u; c < 4u; c++) {
          let r = 4u * qd + c;
          if (rows > r) {
            let xb = load_x(r, b);
            s2[c] = dot8(xb, xb);
          }
        }
        add4(&ss, qd, s2);
      }
    }
  }
  for (var qd = 0u; qd < quads; qd++) {
    set4(&inv, qd, inverseSqrt(reduce_lanes(get4(&ss, qd), vl, sgSize) / f32(p.K) + p.eps));
  }
//#endif

  // The lane group's NR rows in passes of up to 4 (rows a..d = q0 + 0..3; b, c, d exist only when NR allows,
  // a compile-time condition). Each x block is loaded once a pass and applied to every row of the pass.
  for (var q0 = 0u; q0 < NR; q0 += 4u) {
    let na = n0 + g * NR + q0;
    var accA = array<vec4<f32>, 4>();  // [rows] partial dot products of row na, by quads
    var accB = array<vec4<f32>, 4>();
    var accC = array<vec4<f32>, 4>();
    var accD = array<vec4<f32>, 4>();
    if (na < p.nChunk) {
      // rows past the chunk's end (or past NR) read the chunk's last row and write nothing
      let baseA = na * p.wordsPerRow;
      let baseB = min(na + 1u, lastRow) * p.wordsPerRow;
      let baseC = min(na + 2u, lastRow) * p.wordsPerRow;
      let baseD = min(na + 3u, lastRow) * p.wordsPerRow;
      let sbase = na * p.groupsPerRow;
      for (var u = lane; u < nUnits; u += TPR) {
//#if wvec
        let wordsA = wq[baseA / 4u + u];
        var wordsB = vec4<u32>(0u);
        var wordsC = vec4<u32>(0u);
        var wordsD = vec4<u32>(0u);
        if (NR > 1u) { wordsB = wq[baseB / 4u + u]; }
        if (NR > 2u) { wordsC = wq[baseC / 4u + u]; wordsD = wq[baseD / 4u + u]; }
//#else
        let wordsA = vec4<u32>(0u);
        let wordsB = vec4<u32>(0u);
        let wordsC = vec4<u32>(0u);
        let wordsD = vec4<u32>(0u);
//#endif
        let sA = block_scale(sbase + u);
        var sB = 0.0;
        var sC = 0.0;
        var sD = 0.0;
        if (NR > 1u) { sB = block_scale(min(na + 1u, lastRow) * p.groupsPerRow + u); }
        if (NR > 2u) {
          sC = block_scale(min(na + 2u, lastRow) * p.groupsPerRow + u);
          sD = block_scale(min(na + 3u, lastRow) * p.groupsPerRow + u);
        }
        // a runtime bound (4): the block loop stays a loop
        for (var j = 0u; j < p.unitBlocks; j++) {
          let b = 4u * u + j;
          if (8u * b >= p.K) { break; }
          var wA = unit_block(baseA, u, j, sA, wordsA);
          var wB = Block(vec4<f32>(0.0), vec4<f32>(0.0));
          var wC = wB;
          var wD = wB;
          if (NR > 1u) { wB = unit_block(baseB, u, j, sB, wordsB); }
          if (NR > 2u) {
            wC = unit_block(baseC, u, j, sC, wordsC);
            wD = unit_block(baseD, u, j, sD, wordsD);
          }
//#if gain
          let gb = gain_block(b);
          wA = mul8(wA, gb);
          if (NR > 1u) { wB = mul8(wB, gb); }
          if (NR > 2u) {
            wC = mul8(wC, gb);
            wD = mul8(wD, gb);
          }
//#endif
          for (var qd = 0u; qd < quads; qd++) {
            var dA = vec4<f32>(0.0);
            var dB = vec4<f32>(0.0);
            var dC = vec4<f32>(0.0);
            var dD = vec4<f32>(0.0);
            for (var c = 0u; c < 4u; c++) {
              let r = 4u * qd + c;
              if (rows > r) {
                let xb = load_x(r, b);
                dA[c] = dot8(wA, xb);
                if (NR > 1u) { dB[c] = dot8(wB, xb); }
                if (NR > 2u) {
                  dC[c] = dot8(wC, xb);
                  dD[c] = dot8(wD, xb);
                }
              }
            }
            add4(&accA, qd, dA);
            if (NR > 1u) { add4(&accB, qd, dB); }
            if (NR > 2u) {
              add4(&accC, qd, dC);
              add4(&accD, qd, dD);
            }
          }
        }
      }
    }
    let okA = na < p.nChunk;
    let okB = NR > 1u && q0 + 1u < NR && na + 1u < p.nChunk;
    let okC = NR > 2u && q0 + 2u < NR && na + 2u < p.nChunk;
    let okD = NR > 2u && q0 + 3u < NR && na + 3u < p.nChunk;
    let la = g * NR + q0;  // local row of row a
    for (var qd = 0u; qd < quads; qd++) {
      let iv = get4(&inv, qd);
      let vA = finish4(get4(&accA, qd), iv, na, vl, sgSize);
      var vB = vec4<f32>(0.0);
      var vC = vec4<f32>(0.0);
      var vD = vec4<f32>(0.0);
      if (NR > 1u) { vB = finish4(get4(&accB, qd), iv, na + 1u, vl, sgSize); }
      if (NR > 2u) {
        vC = finish4(get4(&accC, qd), iv, na + 2u, vl, sgSize);
        vD = finish4(get4(&accD, qd), iv, na + 3u, vl, sgSize);
      }
      if (lane == 0u) {
//#if rope
        if (okA) { stage4(la, qd, vA); }
        if (okB) { stage4(la + 1u, qd, vB); }
        if (okC) { stage4(la + 2u, qd, vC); }
        if (okD) { stage4(la + 3u, qd, vD); }
//#else
//#if swiglu
        // NR is even: pairs (a, b) and (c, d); a pair is written when its up row exists
        if (okB) { write_swiglu4(na, qd, vA, vB, rows); }
        if (okD) { write_swiglu4(na + 2u, qd, vC, vD, rows); }
//#else
        if (okA) { write4(na, qd, vA, rows); }
        if (okB) { write4(na + 1u, qd, vB, rows); }
        if (okC) { write4(na + 2u, qd, vC, rows); }
        if (okD) { write4(na + 3u, qd, vD, rows); }
//#endif
//#endif
      }
    }
  }
//#if rope
  // every quad of this workgroup's rows, for every x row: (a0, b0, a1, b1) in RoPE-quad order
  workgroupBarrier();
  let items = (LR / 4u) * rows;
  for (var it = lid; it < items; it += WG) {
    let quad = it / rows;
    let r = it % rows;
    let l = 4u * quad;
    if (n0 + l < p.nChunk) {
      let v = vec4<f32>(staged[l * 16u + r], staged[(l + 1u) * 16u + r], staged[(l + 2u) * 16u + r], staged[(l + 3u) * 16u + r]);
      rope_quad(r, p.rowStart + n0 + l, v);
    }
  }
//#endif
}
