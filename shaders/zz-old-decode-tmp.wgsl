// Matrix-vector product for decode (a few rows): for r < rows (<= MAXR) and n in this weight chunk,
//   acc[r, n] = x[r, :] · W[n, :]            (W dequantized on the fly, any format: weight-formats.wgsl)
//   v = acc * invRms(x[r, :])  (norm)  + bias[rowStart + n]  (bias)
//   y[r, rowStart + n] = v, or y += v (residual); swiglu: y[r, (rowStart + n) / 2] = silu(v[n]) * v[n + 1]
//   for the interleaved gate/up pair (n even).
// Bindings (group 0):
//   0 uniform  p: Params (per chunk)
//   1 storage  x:      array<f32> [rows, K]            read
//   2 storage  wq:     array<u32> [nChunk, wordsPerRow] read
//   3 storage  scales: array<f32> [nChunk, groupsPerRow] read (q4/q8 only)
//   4 storage  bias:   array<f32> [N]                  read (bias only)
//   5 storage  y:      array<f32> [rows, outStride]    read_write
// Group 1: 0 uniform rowsU { rows } (the step's row count; one small bind group per count, made at load).
// Dispatch: ceil(nChunk / LR) workgroups, folded into (x, y) as id.y * nwg.x + id.x.
// Tiling: a workgroup of WG threads computes LR = NR * WG / TPR output rows (NR = 2 per group of TPR
// threads, which halves how often x is re-read per weight byte); the TPR threads of an output row split
// K by blocks of 8 values (thread t takes blocks t, t + TPR, ...: coalesced word reads, so
// q4 decodes 8 nibbles per u32 load and every weight byte is read once for all rows). x is staged
// in workgroup memory in segments of ks = STAGE / rows values (a multiple of 32, zero past K), as vec4s.
// Per-row register accumulators are unrolled to MAXR with `r < rows` guards (uniform branches). Per-row sums are reduced with
// subgroupAdd when subgroups exist and a subgroup fits in a row's TPR lanes (subgroups are assumed to be
// runs of consecutive invocation indices), else by a workgroup-memory tree. The sum of squares for the
// norm is gathered while staging x and applied to the result (x̂·w = invRms · (x·w)).
// Overrides: WG (power of two), TPR (power of two <= WG), STAGE (floats of x staged, multiple of 128).
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
override STAGE: u32 = 2048u;
override RPW: u32 = WG / TPR;
const MAXR: u32 = 4u;   // most x rows (DECODE_MAX_ROWS in matmul.ts)
const NR: u32 = 2u;     // output rows per thread group: a workgroup computes LR = NR * RPW output rows
override LR: u32 = NR * RPW;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
//#if scaled
@group(0) @binding(3) var<storage, read> scales: array<f32>;
//#endif
//#if bias
@group(0) @binding(4) var<storage, read> bias: array<f32>;
//#endif
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(1) @binding(0) var<uniform> rowsU: RowsParams;

var<workgroup> xs: array<vec4<f32>, STAGE / 4u>;  // [rows, ks] staged x segment
var<workgroup> red: array<f32, MAXR * WG>;         // reduction scratch
var<workgroup> res: array<f32, MAXR * LR>;         // [rows, LR] finished dot products
//#if norm
var<workgroup> inv: array<f32, MAXR>;               // inverse RMS per x row
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32,
//#if subgroups
  @builtin(subgroup_size) sgSize: u32, @builtin(subgroup_invocation_id) sgId: u32,
//#endif
) {
  let rows = rowsU.rows;
  let ks = STAGE / rows / 32u * 32u;
  let ks4 = ks / 4u;
  let n0 = (wid.y * nwg.x + wid.x) * LR;  // first chunk row of this workgroup
  if (n0 >= p.nChunk) { return; }
  let lrow = lid / TPR;
  let lane = lid % TPR;
  let nBlocks = (p.K + 7u) / 8u;
  // this thread's output rows: n0 + q * RPW + lrow for q < NR
  var nq: array<u32, NR>;
  for (var q = 0u; q < NR; q++) { nq[q] = n0 + q * RPW + lrow; }
  var acc = array<f32, MAXR * NR>();  // [NR, MAXR]
  var ss = array<f32, MAXR>();

  for (var k0 = 0u; k0 < p.K; k0 += ks) {
    // stage x[:, k0 .. k0 + ks)
    workgroupBarrier();
    for (var r = 0u; r < MAXR; r++) {
      if (r >= rows) { break; }
      let xr = r * p.K;
      for (var j = lid; j < ks4; j += WG) {
        let k = k0 + 4u * j;
        var v = vec4<f32>(0.0);
        if (k + 3u < p.K) {
          v = vec4<f32>(x[xr + k], x[xr + k + 1u], x[xr + k + 2u], x[xr + k + 3u]);
        } else {
          for (var c = 0u; c < 4u; c++) {
            if (k + c < p.K) { v[c] = x[xr + k + c]; }
          }
        }
        xs[r * ks4 + j] = v;
//#if norm
        ss[r] += dot(v, v);
//#endif
      }
    }
    workgroupBarrier();
    // this thread's blocks of its output rows
    let b0 = k0 / 8u;
    let b1 = min(b0 + ks / 8u, nBlocks);
    for (var q = 0u; q < NR; q++) {
      let n = nq[q];
      if (n >= p.nChunk) { break; }
      let base = n * p.wordsPerRow;
      let sbase = n * p.groupsPerRow;
      for (var b = b0 + lane; b < b1; b += TPR) {
        let blk = load_block(base, b, p.wordsPerRow);
        let s = block_scale(sbase + b / 4u);
        let j = 2u * (b - b0);
        for (var r = 0u; r < MAXR; r++) {
          if (r < rows) { acc[q * MAXR + r] += s * (dot(blk.lo, xs[r * ks4 + j]) + dot(blk.hi, xs[r * ks4 + j + 1u])); }
        }
      }
    }
  }

//#if norm
  // inverse RMS of each x row: tree over all WG threads' partial sums of squares
  for (var r = 0u; r < MAXR; r++) { red[r * WG + lid] = ss[r]; }
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      for (var r = 0u; r < rows; r++) { red[r * WG + lid] += red[r * WG + lid + s]; }
    }
    workgroupBarrier();
  }
  if (lid < rows) { inv[lid] = inverseSqrt(red[lid * WG] / f32(p.K) + p.eps); }
//#endif

  for (var q = 0u; q < NR; q++) {
    // sum the TPR lane partials of output row nq[q]; lane 0 ends with the totals
    workgroupBarrier();
    var tot = array<f32, MAXR>();
//#if subgroups
    if (sgSize <= TPR) {
      for (var r = 0u; r < MAXR; r++) {
        if (r < rows) {
          let t = subgroupAdd(acc[q * MAXR + r]);
          if (sgId == 0u) { red[r * WG + lid] = t; }
        }
      }
      workgroupBarrier();
      if (lane == 0u) {
        for (var r = 0u; r < MAXR; r++) {
          for (var i = 0u; i < TPR; i += sgSize) { tot[r] += red[r * WG + lid + i]; }
        }
      }
    } else {
//#endif
      for (var r = 0u; r < MAXR; r++) { red[r * WG + lid] = acc[q * MAXR + r]; }
      workgroupBarrier();
      for (var s = TPR / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
          for (var r = 0u; r < rows; r++) { red[r * WG + lid] += red[r * WG + lid + s]; }
        }
        workgroupBarrier();
      }
      if (lane == 0u) {
        for (var r = 0u; r < MAXR; r++) { tot[r] = red[r * WG + lid]; }
      }
//#if subgroups
    }
//#endif
    let n = nq[q];
    if (lane == 0u && n < p.nChunk) {
      for (var r = 0u; r < MAXR; r++) {
        if (r >= rows) { break; }
        var v = tot[r];
//#if norm
        v *= inv[r];
//#endif
//#if bias
        v += bias[p.rowStart + n];
//#endif
        res[r * LR + q * RPW + lrow] = v;
      }
    }
  }
  workgroupBarrier();

  // epilogue: write y
//#if swiglu
  let half = LR / 2u;
  for (var i = lid; i < rows * half; i += WG) {
    let r = i / half;
    let jl = i % half;
    let nn = n0 + 2u * jl;
    if (nn < p.nChunk) {
      let g = res[r * LR + 2u * jl];
      let u = res[r * LR + 2u * jl + 1u];
      y[r * p.outStride + (p.rowStart + nn) / 2u] = g / (1.0 + exp(-g)) * u;
    }
  }
//#else
  for (var i = lid; i < rows * LR; i += WG) {
    let r = i / LR;
    let nn = n0 + i % LR;
    if (nn < p.nChunk) {
      let o = r * p.outStride + p.rowStart + nn;
//#if residual
      y[o] = y[o] + res[i];
//#else
      y[o] = res[i];
//#endif
    }
  }
//#endif
}
