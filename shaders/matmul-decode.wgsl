// Matrix-vector product for decode (a few rows): for r < rows (<= 4) and n in this weight chunk,
//   acc[r, n] = x[r, :] · W[n, :]            (W dequantized on the fly, any format: weight-formats.wgsl)
//   v = acc * invRms(x[r, :])  (norm)  + bias[rowStart + n]  (bias)
//   y[r, rowStart + n] = v, or y += v (residual); swiglu: y[r, (rowStart + n) / 2] = silu(v[n]) * v[n + 1]
//   for the interleaved gate/up pair (n even).
// Bindings (group 0):
//   0 uniform  p: Params (per chunk)
//   1 storage  x:      array<f32> [rows, K], or array<vec4<f32>> [rows, K / 4] when xvec (K % 8 == 0)  read
//   2 storage  wq:     array<u32> [nChunk, wordsPerRow] read
//   3 storage  scales: array<f32> [nChunk, groupsPerRow] read (q4/q8 only)
//   4 storage  bias:   array<f32> [N]                  read (bias only)
//   5 storage  y:      array<f32> [rows, outStride]    read_write
// Group 1: 0 uniform rowsU { rows } (the step's row count; one small bind group per count, made at load).
// Dispatch: ceil(nChunk / LR) workgroups, folded into (x, y) as id.y * nwg.x + id.x.
// Tiling: a workgroup of WG threads is WG / TPR lane groups of TPR threads; lane group g owns the NR consecutive
// output rows n0 + g * NR + q (q < NR), so a workgroup covers LR = NR * WG / TPR rows. The host picks TPR
// (decodeTiling in matmul.ts): from K on GPUs (few lanes for short rows, so no lane idles and more rows share a
// workgroup; at most a subgroup), and 1 on CPU adapters, where a workgroup's invocations are SIMD lanes of one
// thread and one lane per row makes every x read the same address for all lanes. The lanes of a group split a row
// by blocks of 8 values (lane t takes blocks t, t + TPR, ...: consecutive lanes read consecutive words), and every
// weight block is applied to all x rows at once, so each weight byte is read once per step.
// x is read straight from storage (small, cached), never staged in workgroup memory: no barrier on the
// subgroup path. Accumulators are one vec4 (component r = x row r) with the rows unrolled behind uniform
// `rows > r` branches: no dynamically indexed arrays. The lane partials are reduced with subgroupShuffleXor /
// subgroupAdd when subgroups exist (a subgroup is assumed to be a run of consecutive invocation indices), and
// through workgroup memory otherwise (or across subgroups when TPR > subgroup size). The RMS norm's sum of squares
// is gathered by the same lanes from the same x reads and reduced alongside (x̂·w = invRms · (x·w)).
// Overrides: WG (power of two), TPR (power of two <= WG), NR (rows a lane group owns; even for swiglu).
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
  _pad: u32,
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
@group(0) @binding(2) var<storage, read> wq: array<u32>;
//#if scaled
@group(0) @binding(3) var<storage, read> scales: array<f32>;
//#endif
//#if bias
@group(0) @binding(4) var<storage, read> bias: array<f32>;
//#endif
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(1) @binding(0) var<uniform> rowsU: RowsParams;

// [WG] lane partials of a reduction that does not fit one subgroup (every reduction without subgroups)
var<workgroup> red: array<vec4<f32>, WG>;

// block b (8 values) of x row r
fn load_x(r: u32, b: u32) -> Block {
//#if xvec
  let i = (r * p.K) / 4u + 2u * b;
  return Block(x[i], x[i + 1u]);
//#else
  let k = 8u * b;
  let base = r * p.K;
  var lo = vec4<f32>(0.0);
  var hi = vec4<f32>(0.0);
  for (var c = 0u; c < 4u; c++) {
    if (k + c < p.K) { lo[c] = x[base + k + c]; }
    if (k + 4u + c < p.K) { hi[c] = x[base + k + 4u + c]; }
  }
  return Block(lo, hi);
//#endif
}

fn dot8(a: Block, b: Block) -> f32 {
  return dot(a.lo, b.lo) + dot(a.hi, b.hi);
}

// Sum of v over the TPR lanes of this lane group; every lane of the group gets the total.
// Called in uniform control flow by the whole workgroup.
fn reduce_lanes(v: vec4<f32>, lid: u32, sgSize: u32) -> vec4<f32> {
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
  red[lid] = t;
  workgroupBarrier();
  let g0 = lid - lid % TPR;
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < TPR; i += sgSize) { s += red[g0 + i]; }
  return s;
//#else
  workgroupBarrier();
  red[lid] = t;
  workgroupBarrier();
  let g0 = lid - lid % TPR;
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < TPR; i++) { s += red[g0 + i]; }
  return s;
//#endif
}

fn write_row(r: u32, n: u32, v: f32) {
  let o = r * p.outStride + p.rowStart + n;
//#if residual
  y[o] = y[o] + v;
//#else
  y[o] = v;
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
//#if subgroups
  @builtin(subgroup_size) sgSize: u32,
//#endif
) {
//#if !subgroups
  let sgSize = 1u;
//#endif
  let rows = rowsU.rows;
  let n0 = (wid.y * nwg.x + wid.x) * LR;  // first chunk row of this workgroup
  if (n0 >= p.nChunk) { return; }
  let g = lid / TPR;
  let lane = lid % TPR;
  let nBlocks = (p.K + 7u) / 8u;
//#if swiglu
  var gate = vec4<f32>(0.0);
//#endif
//#if norm
  var inv = vec4<f32>(0.0);
//#endif

  for (var q = 0u; q < NR; q++) {
    let n = n0 + g * NR + q;
    var acc = vec4<f32>(0.0);  // [rows] partial dot products of row n
//#if norm
    var ss = vec4<f32>(0.0);   // [rows] partial sums of squares of x
//#endif
    if (n < p.nChunk) {
      let base = n * p.wordsPerRow;
      let sbase = n * p.groupsPerRow;
      for (var b = lane; b < nBlocks; b += TPR) {
        let w = load_block(base, b, p.wordsPerRow);
        let x0 = load_x(0u, b);
        var d = vec4<f32>(dot8(w, x0), 0.0, 0.0, 0.0);
//#if norm
        var s2 = vec4<f32>(dot8(x0, x0), 0.0, 0.0, 0.0);
//#endif
        if (rows > 1u) {
          let x1 = load_x(1u, b);
          d.y = dot8(w, x1);
//#if norm
          s2.y = dot8(x1, x1);
//#endif
        }
        if (rows > 2u) {
          let x2 = load_x(2u, b);
          d.z = dot8(w, x2);
//#if norm
          s2.z = dot8(x2, x2);
//#endif
        }
        if (rows > 3u) {
          let x3 = load_x(3u, b);
          d.w = dot8(w, x3);
//#if norm
          s2.w = dot8(x3, x3);
//#endif
        }
        acc += block_scale(sbase + b / 4u) * d;
//#if norm
        ss += s2;
//#endif
      }
    }
    var v = reduce_lanes(acc, lid, sgSize);
//#if norm
    // the lanes of a group read all of x for its first row; groups past the chunk's end get a zero sum
    // (and write nothing)
    if (q == 0u) { inv = inverseSqrt(reduce_lanes(ss, lid, sgSize) / f32(p.K) + p.eps); }
    v *= inv;
//#endif
    if (lane == 0u && n < p.nChunk) {
//#if bias
      v += vec4<f32>(bias[p.rowStart + n]);
//#endif
//#if swiglu
      if (q % 2u == 0u) {
        gate = v;
      } else {
        let h = gate / (vec4<f32>(1.0) + exp(-gate)) * v;
        let o = (p.rowStart + n) / 2u;
        y[o] = h.x;
        if (rows > 1u) { y[p.outStride + o] = h.y; }
        if (rows > 2u) { y[2u * p.outStride + o] = h.z; }
        if (rows > 3u) { y[3u * p.outStride + o] = h.w; }
      }
//#else
      write_row(0u, n, v.x);
      if (rows > 1u) { write_row(1u, n, v.y); }
      if (rows > 2u) { write_row(2u, n, v.z); }
      if (rows > 3u) { write_row(3u, n, v.w); }
//#endif
    }
  }
}
