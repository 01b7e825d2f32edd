import { promises as fs } from 'node:fs';
import * as fsSync from 'node:fs';
import * as path from 'node:path';

/**
 * Metrics as JSON lines, one object per step. On resume, lines past the checkpoint's step are dropped so
 * the file matches an uninterrupted run.
 */
export class MetricsLog {
  constructor(readonly file: string) {}

  async truncateAfter(step: number): Promise<void> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch {
      return;
    }
    const keep = text.split('\n').filter((l) => {
      if (!l.trim()) return false;
      try {
        const o = JSON.parse(l) as { step?: number };
        return (o.step ?? 0) <= step;
      } catch {
        return false;
      }
    });
    await fs.writeFile(this.file, keep.length ? `${keep.join('\n')}\n` : '');
  }

  append(obj: Record<string, unknown>): void {
    fsSync.mkdirSync(path.dirname(this.file), { recursive: true });
    fsSync.appendFileSync(this.file, `${JSON.stringify(obj)}\n`);
  }

  static async read(file: string): Promise<Array<Record<string, number>>> {
    const text = await fs.readFile(file, 'utf8');
    return text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, number>);
  }
}
