// Kernels freezeflow adds to a backend (src/backend/kernels) that code outside the backend folder runs by
// name where they are registered, and replaces with tf ops where they are not.

/** PyTorch's Hardswish, x·clip(x/6 + 1/2, 0, 1): input x. */
export const HARD_SWISH = 'FreezeflowHardSwish';
/** Its gradient from x alone (torch's hardswish_backward): inputs x, dy. */
export const HARD_SWISH_GRAD = 'FreezeflowHardSwishGrad';
