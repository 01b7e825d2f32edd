/** Browser stand-in for node:fs: the viewer reads bytes itself and never calls the Node file readers. */
const unavailable = (): never => {
  throw new Error('file system access is not available in the browser');
};
export const promises = {
  stat: unavailable,
  readFile: unavailable,
  open: unavailable,
  readdir: unavailable,
  mkdir: unavailable,
  writeFile: unavailable,
  rename: unavailable,
  rm: unavailable,
  access: unavailable,
};
// src/util/atomic.ts (imported with src/train/checkpoint.ts by the models the predictions run) names these.
export const mkdirSync = unavailable;
export const writeFileSync = unavailable;
export const renameSync = unavailable;
export const rmSync = unavailable;
export default { promises, mkdirSync, writeFileSync, renameSync, rmSync };
