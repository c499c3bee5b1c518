// Training kernels the tfjs wasm backend lacks, composed from kernels it has (XNNPACK conv, transpose,
// pad), so conv nets can be fine-tuned on wasm at close to forward-conv speed.
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from '@tensorflow/tfjs';

type Conv2DBackpropFilterAttrs = {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
};

/** Hand a tensor made with tf ops back to the engine as a kernel output, without leaking it. */
function asOutput(backend: KernelBackend, t: tf.Tensor): TensorInfo {
  (backend as unknown as { incRef(id: object): void }).incRef(t.dataId);
  const info = { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
  t.dispose();
  return info;
}

/**
 * Wrap a kernel input as a tensor for tf ops. makeTensorFromTensorInfo does not take a reference on the
 * backend data, but dispose() drops one: without incRef the input would be freed under its owner
 * (a use-after-free in the bias gradient, and numTensors drifting by one per call).
 */
function asTensor(backend: KernelBackend, info: TensorInfo): tf.Tensor {
  (backend as unknown as { incRef(id: object): void }).incRef(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, backend);
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,y,x} Xpad[b, y·s+kh, x·s+kw, ci] · dY[b,y,x,co]
 * which is a stride-1 convolution of Xpadᵀ [ci, Hp, Wp, b] with dYᵀ [oh, ow, b, co] as the filter,
 * dilated by the forward stride; the first kh×kw outputs are the gradient.
 */
export function conv2dBackpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Conv2DBackpropFilterAttrs): tf.Tensor4D {
  if (attrs.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter: NCHW is not supported on wasm');
  const [kh, kw] = attrs.filterShape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, bottom, left, right } = info.padInfo;
  return tf.tidy(() => {
    // 'same' can ask for more padding on one side than the output ever reads; negative values crop.
    let xp: tf.Tensor4D = x;
    if (top > 0 || bottom > 0 || left > 0 || right > 0) {
      xp = tf.pad(x, [
        [0, 0],
        [Math.max(top, 0), Math.max(bottom, 0)],
        [Math.max(left, 0), Math.max(right, 0)],
        [0, 0],
      ]);
    }
    const xt = tf.transpose(xp, [3, 1, 2, 0]);
    const f = tf.transpose(dy, [1, 2, 0, 3]);
    const conv = tf.conv2d(xt, f, 1, 'valid', 'NHWC', [info.strideHeight, info.strideWidth]);
    const cut = conv.shape[1] === kh && conv.shape[2] === kw ? conv : tf.slice(conv, [0, 0, 0, 0], [-1, kh, kw, -1]);
    return tf.transpose(cut, [1, 2, 0, 3]);
  });
}

let registered = false;

/** Register freezeflow's training kernels on the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({
      inputs,
      backend,
      attrs,
    }: {
      inputs: NamedTensorInfoMap;
      backend: unknown;
      attrs?: NamedAttrMap;
    }) => {
      const x = asTensor(backend as KernelBackend, inputs['x']!) as tf.Tensor4D;
      const dy = asTensor(backend as KernelBackend, inputs['dy']!) as tf.Tensor4D;
      try {
        return asOutput(
          backend as KernelBackend,
          conv2dBackpropFilter(x, dy, attrs as unknown as Conv2DBackpropFilterAttrs),
        );
      } finally {
        x.dispose();
        dy.dispose();
      }
    },
  });
}
