/**
 * A grid's own progress: after each cell it writes, one line "grid NAME: k/N cells (c new in this run,
 * elapsed)", so that the log of a long grid says how far the whole run is, not only the current cell's bar.
 * Cells found stored count towards k without a line of their own. There is no grid-wide ETA on purpose: cells
 * differ in cost by two orders of magnitude (a 1 % head-only cell against a 100 % whole-network one), so a
 * mean over the cells done so far would mislead; each cell's own bar has its ETA.
 */
export class GridTally {
  private done = 0;
  private computed = 0;
  private readonly t0: number;

  constructor(
    readonly name: string,
    /** The cells of the selected part of the grid (a filtered run counts its own cells). */
    readonly total: number,
    private readonly quiet: boolean,
    private readonly write: (line: string) => void = (line) => void process.stderr.write(line),
    private readonly now: () => number = () => Date.now(),
  ) {
    this.t0 = now();
  }

  /** One cell of the grid is settled: computed now, or found stored with its current config hash. */
  cell(computed: boolean): void {
    this.done++;
    if (!computed) return;
    this.computed++;
    if (!this.quiet)
      this.write(`grid ${this.name}: ${this.done}/${this.total} cells (${this.computed} new in this run, ${elapsed((this.now() - this.t0) / 1000)})\n`);
  }
}

function elapsed(s: number): string {
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
