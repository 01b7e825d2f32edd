/**
 * The names of the bench's cases, without tfjs: the CLI (`rq3d bench --help`) lists them, and loading the
 * benchmarks themselves would load tfjs first.
 */
export type ConvVariant = 'im2col' | 'fused' | 'whole';
export const CONV_VARIANTS: readonly ConvVariant[] = ['im2col', 'fused', 'whole'];
