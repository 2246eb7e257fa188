// What to do when WebGPU is missing or blocked, per browser, in plain words.
import type { ErrorInfo } from '../protocol/errors';

export function WebGpuHelp({ error }: { error: ErrorInfo }) {
  return (
    <section className="card help" aria-labelledby="nogpu-title" role="alert">
      <h2 id="nogpu-title">This browser does not give Boxed a GPU</h2>
      <p>
        Boxed runs the model on your own graphics card through <strong>WebGPU</strong>, and nothing is sent to a server. The browser said:{' '}
        <q className="mono">{error.message}</q>
      </p>
      <h3>What to do</h3>
      <dl className="browser-help">
        <dt>Chrome or Edge (Windows, macOS, ChromeOS, Android)</dt>
        <dd>
          Version 113 or newer has WebGPU on. Update the browser, then open <span className="mono">chrome://gpu</span> (or <span className="mono">edge://gpu</span>) and check that
          “WebGPU” says “Hardware accelerated”. If it says disabled, turn on “Use graphics acceleration when available” in Settings → System, and restart.
        </dd>
        <dt>Chrome, Chromium or Edge on Linux (including NVIDIA cards)</dt>
        <dd>
          WebGPU on Linux is still behind flags. Open <span className="mono">chrome://flags</span>, enable <span className="mono">#enable-unsafe-webgpu</span> and{' '}
          <span className="mono">#enable-vulkan</span>, then restart. With an NVIDIA card use the proprietary driver (<span className="mono">nvidia-smi</span> works) and have the
          Vulkan loader installed (<span className="mono">vulkaninfo</span> lists your GPU). Or start the browser with{' '}
          <span className="mono">--enable-unsafe-webgpu --enable-features=Vulkan</span>. On laptops with two GPUs, run it on the NVIDIA one (for example{' '}
          <span className="mono">prime-run</span>).
        </dd>
        <dt>Firefox</dt>
        <dd>
          Firefox 141 or newer has WebGPU on Windows; on macOS and Linux it is still being rolled out. In <span className="mono">about:config</span> set{' '}
          <span className="mono">dom.webgpu.enabled</span> to true (and on Linux <span className="mono">gfx.webgpu.ignore-blocklist</span> if your GPU is blocklisted), then restart.
        </dd>
        <dt>Safari (macOS, iOS, iPadOS)</dt>
        <dd>
          Safari 26 has WebGPU on. On older versions enable it under Settings → Advanced → “Show features for web developers”, then Develop → Feature Flags → WebGPU (on
          iPhone and iPad: Settings → Apps → Safari → Advanced → Feature Flags).
        </dd>
        <dt>Still nothing?</dt>
        <dd>
          A GPU on the browser’s blocklist, a remote desktop session or a virtual machine can hide the GPU. Private windows and some enterprise policies also disable WebGPU.
        </dd>
      </dl>
    </section>
  );
}
