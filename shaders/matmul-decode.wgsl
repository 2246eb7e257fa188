// Matrix-vector product for decode (1 to 16 rows): for r < rows and n in this weight chunk,
//   acc[r, n] = x[r, :] · W[n, :]            (W dequantized on the fly, any format: weight-formats.wgsl)
//   v = acc * invRms(x[r, :])  (norm)  + bias[rowStart + n]  (bias)
//   y[r, rowStart + n] = v, or y += v (residual); swiglu: y[r, (rowStart + n) / 2] = silu(v[n]) * v[n + 1]
//   for the interleaved gate/up pair (n even).
//   gain: W's column k is scaled by gain[k] as it is decoded (a norm gain that cannot be folded into W at load:
//   the final norm's, when the LM head shares the embedding's matrix).
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
// Group 1: 0 uniform rowsU { rows } (the step's row count; one small bind group per count, made at load).
// Dispatch: ceil(nChunk / LR) workgroups, folded into (x, y) as id.y * nwg.x + id.x.
// Tiling: a workgroup of WG threads is WG / TPR lane groups of TPR threads; lane group g owns the NR consecutive
// output rows n0 + g * NR + q (q < NR), so a workgroup covers LR = NR * WG / TPR rows (decodeTiling in
// matmul.ts picks WG, TPR, NR per adapter and shape). A row is split into units of 32 values (4 blocks of 8; one
// q4/q8 scale group; one vec4<u32> load of q4 words): lane t takes units t, t + TPR, ..., so consecutive lanes
// read consecutive 16-byte words. Each weight unit is decoded once and applied to every x row of the step
// (up to 16, as 4 quads of vec4 accumulators), so each weight byte is read once per step whatever the rows.
// x is read straight from storage (small, cached). Accumulators are vec4 quads (component c = x row 4 * quad + c)
// behind uniform `rows > r` branches. Lane partials are reduced with
// subgroupShuffleXor / subgroupAdd when subgroups exist and through workgroup memory otherwise (or across
// subgroups when TPR > subgroup size). No layout of subgroups is assumed: each subgroup takes a run of
// `subgroup_size` virtual lane indices (its index from a workgroup atomic), and lanes are numbered by
// subgroup_invocation_id, so a lane group always lies inside one subgroup (or spans whole subgroups).
// The RMS norm's sum of squares is gathered by the same lanes from the same x reads (x̂·w = invRms · (x·w)).
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
}

struct RowsParams { rows: u32, _p0: u32, _p1: u32, _p2: u32 }

override WG: u32 = 256u;
override TPR: u32 = 32u;
override NR: u32 = 2u;
override GPW: u32 = WG / TPR;  // lane groups per workgroup
override LR: u32 = NR * GPW;   // output rows per workgroup

@group(0) @binding(0) var<uniform> p: Params;
//#if xvec
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
//#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
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

// block b (8 values) of x row r (b < the row's block count; values past K read as 0)
fn load_x(r: u32, b: u32) -> Block {
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
// block b of W's row with the column gains applied (columns past K get any finite gain: their x is 0)
fn gained(w: Block, b: u32) -> Block {
  let k = vec4<u32>(8u * b) + vec4<u32>(0u, 1u, 2u, 3u);
  let last = vec4<u32>(p.K - 1u);
  let k4 = min(k + vec4<u32>(4u), last);
  let kl = min(k, last);
  return Block(w.lo * vec4<f32>(gain[kl.x], gain[kl.y], gain[kl.z], gain[kl.w]), w.hi * vec4<f32>(gain[k4.x], gain[k4.y], gain[k4.z], gain[k4.w]));
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
//#if swiglu
  var gate = array<vec4<f32>, 4>();
//#endif
//#if norm
  var inv = array<vec4<f32>, 4>();
//#endif

  for (var q = 0u; q < NR; q++) {
    let n = n0 + g * NR + q;
    var acc = array<vec4<f32>, 4>();  // [rows] partial dot products of row n, by quads
//#if norm
    var ss = array<vec4<f32>, 4>();   // [rows] partial sums of squares of x
//#endif
    if (n < p.nChunk) {
      let base = n * p.wordsPerRow;
      let sbase = n * p.groupsPerRow;
      for (var u = lane; u < nUnits; u += TPR) {
//#if wvec
        let words = wq[base / 4u + u];
//#else
        let words = vec4<u32>(0u);
//#endif
        let s = block_scale(sbase + u);
        // a runtime bound (4): the block loop stays a loop, and only the row loops below are unrolled
        for (var j = 0u; j < p.unitBlocks; j++) {
          let b = 4u * u + j;
          if (8u * b >= p.K) { break; }
//#if gain
          let w = gained(unit_block(base, u, j, s, words), b);
//#else
          let w = unit_block(base, u, j, s, words);
//#endif
          for (var qd = 0u; qd < quads; qd++) {
            if (rows > 4u * qd) {
              var d = vec4<f32>(0.0);
//#if norm
              var s2 = vec4<f32>(0.0);
//#endif
              for (var c = 0u; c < 4u; c++) {
                let r = 4u * qd + c;
                if (rows > r) {
                  let xb = load_x(r, b);
                  d[c] = dot8(w, xb);
//#if norm
                  s2[c] = dot8(xb, xb);
//#endif
                }
              }
              add4(&acc, qd, d);
//#if norm
              add4(&ss, qd, s2);
//#endif
            }
          }
        }
      }
    }
    for (var qd = 0u; qd < quads; qd++) {
      if (rows > 4u * qd) {
        var v = reduce_lanes(get4(&acc, qd), vl, sgSize);
//#if norm
        // the lanes of a group read all of x for its first row; groups past the chunk's end get a zero sum
        // (and write nothing)
        if (q == 0u) { set4(&inv, qd, inverseSqrt(reduce_lanes(get4(&ss, qd), vl, sgSize) / f32(p.K) + p.eps)); }
        v *= get4(&inv, qd);
//#endif
        if (lane == 0u && n < p.nChunk) {
//#if bias
          v += vec4<f32>(bias[p.rowStart + n]);
//#endif
//#if rope
          for (var c = 0u; c < 4u; c++) { staged[(g * NR + q) * 16u + 4u * qd + c] = v[c]; }
//#else
//#if swiglu
          if (q % 2u == 0u) {
            set4(&gate, qd, v);
          } else {
            let gt = get4(&gate, qd);
            let h = gt / (vec4<f32>(1.0) + exp(-gt)) * v;
            let o = (p.rowStart + n) / 2u;
            for (var c = 0u; c < 4u; c++) {
              let r = 4u * qd + c;
              if (rows > r) { y[r * p.outStride + o] = h[c]; }
            }
          }
//#else
          for (var c = 0u; c < 4u; c++) {
            let r = 4u * qd + c;
            if (rows > r) { write_row(r, n, v[c]); }
          }
//#endif
//#endif
        }
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
