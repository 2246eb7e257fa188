//#if wf16
enable f16;
//#endif
// Tiled matrix multiplication for prefill (many rows): for r < rows and n in this weight chunk,
//   acc[r, n] = x[r, :] · W[n, :]            (W dequantized into workgroup memory, any format)
//   v = acc * invRms(x[r, :])  (norm)  + bias[rowStart + n]  (bias)
//   y[r, rowStart + n] = v, or y += v (residual); swiglu: y[r, (rowStart + n) / 2] = silu(v[n]) * v[n + 1].
//   gain: W's column k scaled by gain[k] as it is staged; rope: each thread's 4 contiguous columns are one RoPE
//   quad (shaders/rope-epilogue.wgsl, bindings 6..10), rotated into q (y) and the KV cache.
// Bindings (group 0, as matmul-decode.wgsl):
//   0 uniform  p: Params (per chunk)
//   1 storage  x:      array<f32> [rows, K]             read
//   2 storage  wq:     array<u32> [nChunk, wordsPerRow] read
//   3 storage  scales: array<f32> [nChunk, groupsPerRow] read (q8 only; q4's are in wq)
//   4 storage  bias:   array<f32> [N]                   read (bias only)
//   5 storage  y:      array<f32> [rows, outStride]     read_write
//  11 storage  gain:   array<f32> [K]                   read (gain only)
// Group 1: 0 uniform rowsU { rows } (the step's row count; one small bind group per count, made at load).
// Dispatch: ceil(nChunk / TN) * ceil(rows / TM) workgroups, folded into (x, y) as id.y * nwg.x + id.x;
//   tile t covers output columns tn = t % tilesN, rows tm = t / tilesN.
// Tiling (src/gpu/kernels/prefill-tiling.ts picks it per adapter and shape; wf16 on GPUs only): workgroup (WX, WY) threads
// (16 x 16, 16 x 8, 8 x 16 or 8 x 8), output tile TM x TN = 4*WY x 4*WX (64 x 64 .. 32 x 32), K steps of TK = 32
// (one quantization group). Per step the workgroup stages x[TM, TK] (f32) and the dequantized W[TN, TK] (scale
// and gain applied; f16 with `wf16`, else f32) k-major in workgroup memory as vec4s (4 rows of x, 4 columns of
// W), then each thread accumulates a 4 x 4 micro-tile in f32: rows 4*ty .. 4*ty + 3 and columns 4*tx .. 4*tx + 3
// (contiguous, so gate/up pairs and RoPE quads meet in one thread), reading one vec4 of x and one of W per k.
// `double`: two tile buffers; step g+1 is staged into one while step g is computed from the other, one barrier
// a step (a buffer is rewritten only after the barrier that ends the step reading it). Without it (a 16 KiB
// workgroup-storage limit at 64 x 64): one buffer, two barriers a step.
// `wf16` (q4, q8 and f16 weights, no gain): the W tile holds values that are exact in f16, so nothing is rounded:
// q4/q8 stage the integers q (|q| <= 127) and their row's group scale apart (wsc, f32); a step sums x * q in f32
// and multiplies by the scale once, acc += s[n] * Σ_k x[k] q[n, k] (TK = one group: one scale a row a step);
// f16 weights stage their values. x, products, sums and the scale stay f32: the result differs from the f32
// tile's only by the order of f32 roundings. Edges are bounds-checked (zero fill), so any rows, N, K work.
// The norm's sums of squares are taken from the staged x tile by threads lid < TM (needs WG >= TM).
// Bank pattern (32 banks of 4 bytes; f32 tiles): the x store has each thread write 4 consecutive k of one row,
// 32 threads = 4 consecutive rows (one vec4 column) x 8 k quads: XOR-ing the vec4 index with (k / 4) % 8 puts
// the 8 quads' stores in 8 different vec4 columns: 32 banks. The W store has 8 rows x 4 blocks of 8 k per 32
// threads: XOR-ing the vec4 index with 2 * ((k / 8) % 4) puts the 4 blocks x 2 vec4 columns in 8 different vec4
// columns: 32 banks. The inner product's reads are vec4s that all threads of a row (x) or column (W) share
// (broadcast), WX distinct vec4s of W in a row. tileIndexX / tileIndexW in prefill-tiling.ts are the twins the
// tests check. Overrides: WX, WY (WX, WY in {8, 16}).
struct Params {
  K: u32,
  wordsPerRow: u32,
  groupsPerRow: u32,
  nChunk: u32,
  rowStart: u32,
  outStride: u32,
  eps: f32,
  _pad: u32,
}
struct RowsParams { rows: u32, _p0: u32, _p1: u32, _p2: u32 }

override WX: u32 = 16u;
override WY: u32 = 16u;
override WG: u32 = WX * WY;
override TM: u32 = 4u * WY;
override TN: u32 = 4u * WX;
const TK: u32 = 32u;
//#if double
const NBUF: u32 = 2u;
//#else
const NBUF: u32 = 1u;
//#endif
//#if wf16
alias WT = f16;
//#else
alias WT = f32;
//#endif

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wq: array<u32>;
//#if scale_buf
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

var<workgroup> xs: array<vec4<f32>, NBUF * TK * WY>;  // NBUF x [TK, TM / 4] x tile, k-major, swizzled (xs_at)
var<workgroup> ws: array<vec4<WT>, NBUF * TK * WX>;   // NBUF x [TK, TN / 4] W tile, k-major, swizzled (ws_at)
//#if wf16
//#if scaled
var<workgroup> wsc: array<vec4<f32>, NBUF * WX>;      // NBUF x [TN / 4] the W rows' group scales of the step
//#endif
//#endif

// vec4 index of x rows 4q .. 4q + 3 at step offset kk in buffer b; of W columns 4q .. 4q + 3 (header: bank pattern)
fn xs_at(b: u32, kk: u32, q: u32) -> u32 { return (b * TK + kk) * WY + (q ^ ((kk >> 2u) & 7u)); }
fn ws_at(b: u32, kk: u32, q: u32) -> u32 { return (b * TK + kk) * WX + (q ^ (((kk >> 3u) & 3u) << 1u)); }

// Stages step g's x[m0 .. m0 + TM, g*TK .. g*TK + TK) and W[n0 .. n0 + TN, same k] into buffer b.
fn stage(g: u32, b: u32, lid: u32, m0: u32, n0: u32, rows: u32) {
  // x: one thread 4 consecutive k of one row (8 threads a row)
  for (var i = lid; i < TM * 8u; i += WG) {
    let m = i / 8u;
    let kq = i % 8u;
    let row = m0 + m;
    let k = g * TK + 4u * kq;
    var v = vec4<f32>(0.0);
    if (row < rows) {
      for (var c = 0u; c < 4u; c++) {
        if (k + c < p.K) { v[c] = x[row * p.K + k + c]; }
      }
    }
    for (var c = 0u; c < 4u; c++) { xs[xs_at(b, 4u * kq + c, m / 4u)][m % 4u] = v[c]; }
  }
  // W: one thread one block of 8 k of one row (4 threads a row)
  for (var i = lid; i < TN * 4u; i += WG) {
    let nl = i / 4u;
    let bi = i % 4u;
    let n = n0 + nl;
    var blk = Block(vec4<f32>(0.0), vec4<f32>(0.0));
    var s = 0.0;
    if (n < p.nChunk) {
      blk = load_block(n * p.wordsPerRow, g * 4u + bi, p.wordsPerRow);
      s = group_scale(n * p.wordsPerRow, n * p.groupsPerRow, g);
//#if !wf16
      blk = Block(blk.lo * s, blk.hi * s);
//#endif
//#if gain
      // columns past K get any finite gain (their x is 0)
      let k0 = g * TK + bi * 8u;
      for (var c = 0u; c < 4u; c++) {
        blk.lo[c] *= gain[min(k0 + c, p.K - 1u)];
        blk.hi[c] *= gain[min(k0 + 4u + c, p.K - 1u)];
      }
//#endif
    }
//#if wf16
//#if scaled
    if (bi == 0u) { wsc[b * WX + nl / 4u][nl % 4u] = s; }  // the integers stay integers (exact in f16)
//#endif
//#endif
    for (var c = 0u; c < 4u; c++) {
      ws[ws_at(b, bi * 8u + c, nl / 4u)][nl % 4u] = WT(blk.lo[c]);
      ws[ws_at(b, bi * 8u + 4u + c, nl / 4u)][nl % 4u] = WT(blk.hi[c]);
    }
  }
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lidv: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let rows = rowsU.rows;
  let tilesN = (p.nChunk + TN - 1u) / TN;
  let tile = wid.y * nwg.x + wid.x;
  if (tile >= tilesN * ((rows + TM - 1u) / TM)) { return; }
  let n0 = (tile % tilesN) * TN;
  let m0 = (tile / tilesN) * TM;
  let tx = lidv.x;
  let ty = lidv.y;
  var acc = array<vec4<f32>, 4>();
  var ss = 0.0;  // norm: sum of squares of x row m0 + lid (threads lid < TM)

  let groups = (p.K + TK - 1u) / TK;
//#if double
  stage(0u, 0u, lid, m0, n0, rows);
  workgroupBarrier();
//#endif
  for (var g = 0u; g < groups; g++) {
//#if double
    let b = g % 2u;
    if (g + 1u < groups) { stage(g + 1u, 1u - b, lid, m0, n0, rows); }
//#else
    let b = 0u;
    stage(g, 0u, lid, m0, n0, rows);
    workgroupBarrier();
//#endif
//#if norm
    if (lid < TM) {
      for (var kk = 0u; kk < TK; kk++) { let v = xs[xs_at(b, kk, lid / 4u)][lid % 4u]; ss += v * v; }
    }
//#endif
//#if wf16
//#if scaled
    var part = array<vec4<f32>, 4>();  // Σ_k x * q of this step (f32), then times the rows' scales
//#endif
//#endif
    for (var kk = 0u; kk < TK; kk++) {
      let a = xs[xs_at(b, kk, ty)];
      let w = vec4<f32>(ws[ws_at(b, kk, tx)]);
//#if wf16
//#if scaled
      for (var i = 0u; i < 4u; i++) { part[i] += a[i] * w; }
//#else
      for (var i = 0u; i < 4u; i++) { acc[i] += a[i] * w; }
//#endif
//#else
      for (var i = 0u; i < 4u; i++) { acc[i] += a[i] * w; }
//#endif
    }
//#if wf16
//#if scaled
    let sc = wsc[b * WX + tx];
    for (var i = 0u; i < 4u; i++) { acc[i] += part[i] * sc; }
//#endif
//#endif
    workgroupBarrier();
  }

  var invRow = array<f32, 4>(1.0, 1.0, 1.0, 1.0);
//#if norm
  // inverse RMS per tile row, shared through xs (free after the K loop's last barrier)
  if (lid < TM) { xs[lid / 4u][lid % 4u] = inverseSqrt(ss / f32(p.K) + p.eps); }
  workgroupBarrier();
  let inv = xs[ty];
  for (var i = 0u; i < 4u; i++) { invRow[i] = inv[i]; }
//#endif

  // epilogue
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + 4u * ty + i;
    if (row >= rows) { continue; }
    var v = acc[i] * invRow[i];
//#if bias
    for (var c = 0u; c < 4u; c++) {
      let n = n0 + 4u * tx + c;
      if (n < p.nChunk) { v[c] += bias[p.rowStart + n]; }
    }
//#endif
//#if rope
    // nChunk is a multiple of 4: the quad is whole when its first row is in the chunk
    if (n0 + 4u * tx < p.nChunk) { rope_quad(row, p.rowStart + n0 + 4u * tx, v); }
//#else
    for (var c = 0u; c < 4u; c++) {
      let n = n0 + 4u * tx + c;
//#if swiglu
      if (c % 2u == 0u && n < p.nChunk) {
        y[row * p.outStride + (p.rowStart + n) / 2u] = v[c] / (1.0 + exp(-v[c])) * v[c + 1u];
      }
//#else
      if (n < p.nChunk) {
        let o = row * p.outStride + p.rowStart + n;
//#if residual
        y[o] = y[o] + v[c];
//#else
        y[o] = v[c];
//#endif
      }
//#endif
    }
//#endif
  }
}
