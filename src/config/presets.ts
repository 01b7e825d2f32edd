import hrnetPaper from '../../experiments/presets/model/hrnet-paper.json' with { type: 'json' };
import hrnetCpu from '../../experiments/presets/model/hrnet-cpu.json' with { type: 'json' };
import hrnetTiny from '../../experiments/presets/model/hrnet-tiny.json' with { type: 'json' };
import midShapenetPaper from '../../experiments/presets/pretrain/mid-shapenet-paper.json' with { type: 'json' };
import midModelnet10Cpu from '../../experiments/presets/pretrain/mid-modelnet10-cpu.json' with { type: 'json' };
import midSynthQuick from '../../experiments/presets/pretrain/mid-synth-quick.json' with { type: 'json' };
import midSynthTiny from '../../experiments/presets/pretrain/mid-synth-tiny.json' with { type: 'json' };
import ocnnResnetModelnet10 from '../../experiments/presets/supervised/ocnn-resnet-modelnet10.json' with { type: 'json' };

/**
 * The named presets: JSON files under `experiments/presets/<kind>/<name>.json`, listed here once. They are
 * imported as modules, so they resolve relative to this package wherever it is installed (never the working
 * folder) and bundle into the viewer without a file system. A preset file is a config like any other (it may
 * `extends` another preset of its kind); the loader (src/config/load.ts) resolves and validates it.
 *
 * Before presets had kinds, 'cpu' named both an HRNet and a pretraining recipe: those short names stay as
 * aliases, each within its kind, so configs and commands written with them keep working unchanged.
 */
export type PresetKind = 'model' | 'pretrain' | 'supervised';

export interface Preset {
  kind: PresetKind;
  /** The preset's name (its file name). */
  name: string;
  /** Older names of the same preset, within its kind. */
  aliases: readonly string[];
  /** Where it lives in the package, for messages and docs. */
  file: string;
  /** The file's content, not resolved (`extends` kept). */
  json: Readonly<Record<string, unknown>>;
}

const entry = (kind: PresetKind, name: string, aliases: readonly string[], json: unknown): Preset => ({
  kind,
  name,
  aliases,
  file: `experiments/presets/${kind}/${name}.json`,
  json: json as Record<string, unknown>,
});

/** Every preset; MID HRNet's model presets are the backbone registry's 'mid-hrnet' presets. */
export const PRESETS: readonly Preset[] = [
  entry('model', 'hrnet-paper', ['paper'], hrnetPaper),
  entry('model', 'hrnet-cpu', ['cpu'], hrnetCpu),
  entry('model', 'hrnet-tiny', ['tiny'], hrnetTiny),
  entry('pretrain', 'mid-shapenet-paper', ['paper'], midShapenetPaper),
  entry('pretrain', 'mid-modelnet10-cpu', ['cpu'], midModelnet10Cpu),
  entry('pretrain', 'mid-synth-quick', ['quick'], midSynthQuick),
  entry('pretrain', 'mid-synth-tiny', ['tiny'], midSynthTiny),
  entry('supervised', 'ocnn-resnet-modelnet10', [], ocnnResnetModelnet10),
];

/** The preset of `kind` called `name` (its name or an alias), if any. */
export function findPreset(kind: PresetKind, name: string): Preset | undefined {
  return PRESETS.find((p) => p.kind === kind && (p.name === name || p.aliases.includes(name)));
}

/** The names of a kind's presets (aliases after them, in brackets, for messages). */
export function presetList(kind: PresetKind): string {
  return PRESETS.filter((p) => p.kind === kind)
    .map((p) => (p.aliases.length ? `${p.name} (${p.aliases.join(', ')})` : p.name))
    .join(', ');
}

/**
 * A kind's presets as a record under their names, the aliases as non-enumerable keys: `r.tiny` and
 * `r['hrnet-tiny']` are the same object, while `Object.keys(r)` lists each preset once.
 */
export function presetRecord<T>(kind: PresetKind, value: (p: Preset) => T): Record<string, T> {
  const r: Record<string, T> = {};
  for (const p of PRESETS.filter((x) => x.kind === kind)) {
    const v = value(p);
    r[p.name] = v;
    for (const a of p.aliases) Object.defineProperty(r, a, { value: v, enumerable: false });
  }
  return r;
}
