// WebGPU through Dawn (the `webgpu` package) under Node: find the adapter, tell a software rasterizer
// from a GPU, and register tfjs's webgpu backend on a device that asks for the adapter's real limits.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '../tf.js';
import { packageRoot } from '../core/paths.js';
import { wrapReadSync } from '../core/tfjs-internals.js';

const require = createRequire(import.meta.url);

/** The optional packages for the webgpu backend, at the versions freezeflow is tested with. */
export const WEBGPU_PACKAGES = (
  JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { freezeflow: { webgpuPackages: string[] } }
).freezeflow.webgpuPackages;
export const WEBGPU_INSTALL = `npm install --no-save ${WEBGPU_PACKAGES.join(' ')} (or scripts/install-webgpu.sh)`;

interface Adapter {
  info?: Record<string, string>;
  limits: Record<string, number>;
  features: Set<string>;
  requestDevice(d: object): Promise<GpuDevice>;
}

interface GpuDevice {
  lost: Promise<{ reason: string; message: string }>;
  limits: Record<string, number>;
  addEventListener?(type: string, f: (e: { error?: { message?: string } }) => void): void;
  onuncapturederror?: ((e: { error?: { message?: string } }) => void) | null;
}

export interface WebgpuProbe {
  adapter?: Adapter;
  /** "vendor architecture device description (limits)" */
  name?: string;
  /** A CPU rasterizer (llvmpipe/lavapipe, SwiftShader, WARP): slower than wasm, never picked by auto. */
  software?: boolean;
  reason?: string;
}

// Dawn reports llvmpipe as architecture "software"; the names catch the other CPU implementations.
const SOFTWARE = /\b(software|llvmpipe|lavapipe|swiftshader|warp|basic render driver)\b/i;

export function isSoftwareAdapter(info: Record<string, string>, isFallback?: boolean): boolean {
  return isFallback === true || SOFTWARE.test(Object.values(info).join(' '));
}

let dawn: { create(flags: string[]): { requestAdapter(o?: object): Promise<Adapter | null> }; globals: object };
let gpu: { requestAdapter(o?: object): Promise<Adapter | null> } | undefined;

/** Where the webgpu backend would run, or why it cannot. Loads Dawn only when it is installed. */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  if (!gpu) {
    try {
      const name = 'webgpu';
      dawn = (await import(name)) as typeof dawn;
    } catch {
      return { reason: `the 'webgpu' package (Dawn) is not installed: ${WEBGPU_INSTALL}` };
    }
    try {
      require.resolve('@tensorflow/tfjs-backend-webgpu');
    } catch {
      return { reason: `@tensorflow/tfjs-backend-webgpu is not installed: ${WEBGPU_INSTALL}` };
    }
    Object.assign(globalThis, dawn.globals);
    gpu = dawn.create([]);
  }
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    return {
      reason:
        'Dawn found no GPU adapter: it needs a GPU with Vulkan (Linux), Metal or D3D12 drivers; on Linux check `vulkaninfo --summary`, and set VK_DRIVER_FILES to the vendor ICD (e.g. nvidia_icd.json) when the loader misses it',
    };
  const info = adapter.info ?? {};
  const label = [info['vendor'], info['architecture'], info['device'], info['description']].filter(Boolean).join(' ');
  // the limits that bound what tfjs can put in one buffer (large activations fail beyond them)
  const mb = (k: string) => (adapter.limits[k] ? `${k} ${Math.round(adapter.limits[k] / 2 ** 20)} MB` : undefined);
  const limits = [mb('maxBufferSize'), mb('maxStorageBufferBindingSize')].filter(Boolean).join(', ');
  const fallback = (info as { isFallbackAdapter?: unknown })['isFallbackAdapter'] === true;
  return {
    adapter,
    name: `${label || 'unnamed adapter'}${limits ? ` (${limits})` : ''}`,
    software: isSoftwareAdapter(info, fallback),
  };
}

/** The first device error (validation, out of memory, device lost), as one line; cleared by reading. */
let deviceError: string | undefined;
export function takeDeviceError(): string | undefined {
  const e = deviceError;
  deviceError = undefined;
  return e;
}

function watch(device: GpuDevice): void {
  const onError = (e: { error?: { message?: string } }) => {
    deviceError ??= (e.error?.message ?? 'unknown GPU error').split('\n').find((l) => l.trim() !== '');
  };
  if (device.addEventListener) device.addEventListener('uncapturederror', onError);
  else device.onuncapturederror = onError;
  void device.lost.then((l) => {
    deviceError ??= `the GPU device was lost (${l.reason}${l.message ? `: ${l.message.split('\n')[0]}` : ''})`;
  });
}

// The limits tfjs's own factory leaves at WebGPU's defaults though kernels need more (AddN and Concat
// bind one storage buffer per input; the default 8 fails on real models).
const LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
  'maxStorageBuffersPerShaderStage',
];

/**
 * Registers tfjs's 'webgpu' backend on `probe`'s adapter. Synchronous reads (`dataSync`) need
 * OffscreenCanvas, which Node lacks: they fail with a line that says so instead of a ReferenceError.
 */
export async function registerWebgpu(probe: WebgpuProbe): Promise<void> {
  (globalThis as { navigator?: object }).navigator = {
    ...((globalThis as { navigator?: object }).navigator ?? {}),
    gpu,
  };
  const pkg = '@tensorflow/tfjs-backend-webgpu';
  const mod = (await import(pkg)) as { WebGPUBackend: new (device: GpuDevice, info: unknown) => tf.KernelBackend };
  const adapter = probe.adapter!;
  tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const requiredLimits = Object.fromEntries(
        LIMITS.filter((k) => k in adapter.limits).map((k) => [k, adapter.limits[k]]),
      );
      const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
      const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
      watch(device);
      const backend = new mod.WebGPUBackend(device, adapter.info);
      // values already on the CPU still read synchronously; a read from the GPU cannot under Node
      wrapReadSync(backend, (readSync) => (id) => {
        try {
          return readSync(id);
        } catch (err) {
          if (!/OffscreenCanvas/.test(String(err))) throw err;
          throw new Error(
            'a synchronous GPU read (dataSync/arraySync) cannot run under Node on the webgpu backend (a freezeflow bug: reads must be asynchronous)',
          );
        }
      });
      return backend;
    },
    3,
  );
}
