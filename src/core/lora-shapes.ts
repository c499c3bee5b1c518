// LoRA's shapes on a kernel (pure): the plan counts its parameters, the model builds it.

/** A LoRA adapter's shape on a kernel of shape `kernel` ([in, out] or [kh, kw, in, out]). */
export function loraShapes(kernel: readonly number[], rank: number): { a: number[]; b: number[] } {
  const out = kernel[kernel.length - 1]!;
  return { a: [...kernel.slice(0, -1), rank], b: [rank, out] };
}

export const loraParams = (kernel: readonly number[], rank: number): number => {
  const { a, b } = loraShapes(kernel, rank);
  const n = (s: number[]) => s.reduce((x, y) => x * y, 1);
  return n(a) + n(b);
};

/** The largest rank that makes sense: min(fan-in, out), as for a matrix of the kernel's shape. */
export const maxLoraRank = (kernel: readonly number[]): number =>
  Math.min(
    kernel.slice(0, -1).reduce((x, y) => x * y, 1),
    kernel[kernel.length - 1]!,
  );
