// Tiled matrix multiplication for prefill (many rows): for r < rows and n in this weight chunk,
//   acc[r, n] = x[r, :] · W[n, :]            (W dequantized into workgroup memory, any format)
//   v = acc * invRms(x[r, :])  (norm)  + bias[rowStart + n]  (bias)
//   y[r, rowStart + n] = v, or y += v (residual); swiglu: y[r, (rowStart + n) / 2] = silu(v[n]) * v[n + 1].
// Bindings (group 0, as matmul-decode.wgsl):
//   0 uniform  p: Params (per chunk)
//   1 storage  x:      array<f32> [rows, K]             read
//   2 storage  wq:     array<u32> [nChunk, wordsPerRow] read
//   3 storage  scales: array<f32> [nChunk, groupsPerRow] read (q4/q8 only)
//   4 storage  bias:   array<f32> [N]                   read (bias only)
//   5 storage  y:      array<f32> [rows, outStride]     read_write
// Group 1: 0 uniform rowsU { rows } (the step's row count; one small bind group per count, made at load).
// Dispatch: ceil(nChunk / TN) * ceil(rows / TM) workgroups, folded into (x, y) as id.y * nwg.x + id.x;
//   tile t covers output columns tn = t % tilesN, rows tm = t / tilesN.
// Tiling: workgroup (WX, WY) = 16 x 16 threads, output tile TM x TN = 4*WY x 4*WX = 64 x 64, K steps of
// TK = 32 (one quantization group). Per step the workgroup stages x[TM, TK] and the dequantized
// W[TN, TK] (scale applied) k-major in workgroup memory (16 KiB at 64 x 64), then each thread
// accumulates a 4 x 4 micro-tile: rows ty + i*WY (strided), columns 4*tx .. 4*tx + 3 (contiguous, so
// gate/up pairs meet in one thread). Edges are bounds-checked (zero fill), so any rows, N, K work.
// The norm's sums of squares are taken from the staged x tile by threads lid < TM (needs WG >= TM).
// Overrides: WX, WY (WX * WY >= 4 * WY, i.e. WX >= 4; 4*WX and 4*WY multiples of 32 for the swizzles).
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

var<workgroup> xs: array<f32, TK * TM>;  // [TK, TM] x tile, k-major, swizzled (xs_at)
var<workgroup> ws: array<f32, TK * TN>;  // [TK, TN] dequantized W tile, k-major, swizzled (ws_at)

// Swizzles that keep the tile stores free of bank conflicts (32 banks of 4 bytes) without padding, which
// would not fit 16 KiB of workgroup memory. The x store has 32 consecutive threads write one row's 32 k
// values: unswizzled they would be TM apart, all in one bank; XOR-ing the row with k spreads them over the 32
// banks. The W store has 8 rows x 4 blocks per 32 threads, blocks 8*TN apart: XOR-ing the column with 8 *
// (k / 8) puts the 4 blocks in different banks. Both need TM and TN multiples of 32; the XORs leave bits 0..2
// alone, so the 4 contiguous columns a thread reads stay contiguous.
fn xs_at(kk: u32, m: u32) -> u32 { return kk * TM + (m ^ (kk & 31u)); }
fn ws_at(kk: u32, n: u32) -> u32 { return kk * TN + (n ^ ((kk >> 3u) << 3u)); }

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
  for (var g = 0u; g < groups; g++) {
    // stage x[m0 .. m0 + TM, g*TK .. g*TK + TK)
    for (var i = lid; i < TM * TK; i += WG) {
      let m = i / TK;
      let kk = i % TK;
      let row = m0 + m;
      let k = g * TK + kk;
      var v = 0.0;
      if (row < rows && k < p.K) { v = x[row * p.K + k]; }
      xs[xs_at(kk, m)] = v;
    }
    // stage W[n0 .. n0 + TN, same k range], 4 blocks of 8 per row
    for (var i = lid; i < TN * 4u; i += WG) {
      let nl = i / 4u;
      let bi = i % 4u;
      let n = n0 + nl;
      var blk = Block(vec4<f32>(0.0), vec4<f32>(0.0));
      if (n < p.nChunk) {
        blk = load_block(n * p.wordsPerRow, g * 4u + bi, p.wordsPerRow);
        let s = block_scale(n * p.groupsPerRow + g);
        blk = Block(blk.lo * s, blk.hi * s);
      }
      for (var c = 0u; c < 4u; c++) {
        ws[ws_at(bi * 8u + c, nl)] = blk.lo[c];
        ws[ws_at(bi * 8u + 4u + c, nl)] = blk.hi[c];
      }
    }
    workgroupBarrier();
//#if norm
    if (lid < TM) {
      for (var kk = 0u; kk < TK; kk++) { let v = xs[xs_at(kk, lid)]; ss += v * v; }
    }
//#endif
    for (var kk = 0u; kk < TK; kk++) {
      let o = ws_at(kk, 4u * tx);
      let b = vec4<f32>(ws[o], ws[o + 1u], ws[o + 2u], ws[o + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += xs[xs_at(kk, ty + i * WY)] * b;
      }
    }
    workgroupBarrier();
  }

  var invRow = array<f32, 4>(1.0, 1.0, 1.0, 1.0);
//#if norm
  // inverse RMS per tile row, shared through ws (free after the K loop)
  if (lid < TM) { ws[lid] = inverseSqrt(ss / f32(p.K) + p.eps); }
  workgroupBarrier();
  for (var i = 0u; i < 4u; i++) { invRow[i] = ws[ty + i * WY]; }
//#endif

  // epilogue
  for (var i = 0u; i < 4u; i++) {
    let row = m0 + ty + i * WY;
    if (row >= rows) { continue; }
    var v = acc[i] * invRow[i];
//#if bias
    for (var c = 0u; c < 4u; c++) {
      let n = n0 + 4u * tx + c;
      if (n < p.nChunk) { v[c] += bias[p.rowStart + n]; }
    }
//#endif
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
  }
}
