/** Browser stand-in for node:fs: the viewer reads bytes itself and never calls the Node file readers. */
const unavailable = (): never => {
  throw new Error('file system access is not available in the browser');
};
export const promises = { stat: unavailable, readFile: unavailable, open: unavailable, readdir: unavailable };
export default { promises };
