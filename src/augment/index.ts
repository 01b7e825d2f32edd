/** Point-cloud augmentations: primitive transforms, MID-Net's and ocnn-pytorch's training transforms, RQ. */
export * from './points-transform.ts';
export * from './midnet-transform.ts';
export * from './ocnn-transform.ts';
export * from './randomized-quantization.ts';
