// The Buffer shim must be installed before any shared reader runs (they only use it when called).
import './shims/buffer.ts';
import { App, type ViewerHandle } from './app.ts';

declare global {
  interface Window {
    rq3dViewer?: ViewerHandle;
  }
}

const app = new App();
const ready = app.init().catch((e: unknown) => {
  const el = document.getElementById('status');
  if (el) {
    el.textContent = `viewer failed to start: ${e instanceof Error ? e.message : String(e)}`;
    el.classList.add('error');
  }
  throw e;
});
window.rq3dViewer = app.handle(ready);
