import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/golden.ts';

describe('watchdog', () => {
  it('kills a process whose main thread is stuck, with a clear message; a beating process is left alone', () => {
    const script = (stuck: boolean): string => `
      import { startWatchdog } from ${JSON.stringify(path.join(REPO_ROOT, 'src/train/watchdog.ts'))};
      const w = startWatchdog(400, 'rq3d test: stuck');
      const t0 = Date.now();
      if (${stuck}) { while (Date.now() - t0 < 5000) {} }          // a busy main thread: no timer can fire
      else { while (Date.now() - t0 < 1500) { w.beat(); const t = Date.now(); while (Date.now() - t < 50) {} } }
      await w.stop();
      console.log('finished');
    `;
    const run = (stuck: boolean) =>
      spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script(stuck)], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20000 });
    const stuck = run(true);
    expect(stuck.signal).toBe('SIGKILL');
    expect(stuck.stderr).toContain('rq3d test: stuck');
    expect(stuck.stdout).not.toContain('finished');
    const fine = run(false);
    expect(fine.status).toBe(0);
    expect(fine.stdout).toContain('finished');
  });
});
