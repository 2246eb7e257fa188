// Error names that cross the worker boundary. Every failure the user can meet has a name here,
// so the UI can say what happened and what to do, instead of showing a bare string.

export const ERROR_NAMES = [
  'NoWebGPU', // navigator.gpu missing or requestAdapter() gave null
  'DeviceLost', // the GPU device was lost (driver reset, tab in background too long, ...)
  'OutOfMemory', // a buffer or the planned KV cache does not fit on the adapter
  'ModelFormat', // a model file is malformed: bad header, offsets, dtype, shape, missing tensor, bad config
  'Network', // a download failed and could not be resumed
  'NotFound', // the hub has no such repository, revision or file
  'AccessDenied', // the repository is gated or private: an access token is needed
  'Integrity', // a downloaded file's size or SHA-256 differs from what the hub published (the file was deleted)
  'Quota', // the browser's storage quota is full
  'Aborted', // the user stopped the operation
  'InvalidRequest', // a request's parameters are out of range
  'Internal', // a bug: an invariant did not hold
  'ServerUnreachable', // a server engine's fetch failed: the server is down, the address is wrong, or it refused this origin (CORS)
  'ContextOverflow', // the server refused a prompt (+ max_tokens) longer than its model's context
  'StreamCut', // a server's answer stream ended mid-answer (the text so far is kept; continue is offered)
  'ServerError', // the server answered with an error Boxed has no better name for (its message is kept)
] as const;

export type BoxedErrorName = (typeof ERROR_NAMES)[number];

/** The plain-data form of an error, as it crosses the worker boundary. */
export interface ErrorInfo {
  name: BoxedErrorName;
  message: string;
  /** The file the error is about, when there is one (model files, downloads). */
  file?: string;
  /** Structured facts for the UI, e.g. { neededBytes, availableBytes } for OutOfMemory. */
  detail?: Record<string, string | number | boolean>;
}

export class BoxedError extends Error {
  override readonly name: BoxedErrorName;
  readonly file?: string;
  readonly detail?: Record<string, string | number | boolean>;

  constructor(name: BoxedErrorName, message: string, opts: { file?: string; detail?: ErrorInfo['detail']; cause?: unknown } = {}) {
    super(opts.file ? `${opts.file}: ${message}` : message, { cause: opts.cause });
    this.name = name;
    this.file = opts.file;
    this.detail = opts.detail;
  }

  toInfo(): ErrorInfo {
    return { name: this.name, message: this.message, file: this.file, detail: this.detail };
  }

  static fromInfo(info: ErrorInfo): BoxedError {
    const e = new BoxedError(info.name, info.message, { detail: info.detail });
    // message already contains the file prefix; keep the field for the UI
    (e as { file?: string }).file = info.file;
    return e;
  }
}

export function isBoxedErrorName(x: unknown): x is BoxedErrorName {
  return typeof x === 'string' && (ERROR_NAMES as readonly string[]).includes(x);
}

/** Any thrown value as ErrorInfo; unknown errors become Internal. */
export function toErrorInfo(e: unknown): ErrorInfo {
  if (e instanceof BoxedError) return e.toInfo();
  if (e instanceof Error && isBoxedErrorName(e.name)) return { name: e.name, message: e.message };
  if (e instanceof Error) return { name: 'Internal', message: e.message };
  return { name: 'Internal', message: String(e) };
}
