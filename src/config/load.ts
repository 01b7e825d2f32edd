import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, UserError } from '../util/errors.ts';
import { valueAt } from '../util/config-issues.ts';
import { findPreset, presetList, type PresetKind } from './presets.ts';

/**
 * One way to read a config file of any kind (pretraining, few-shot grid or probe, supervised baseline, the
 * main job): JSON, `extends` resolved, not validated yet, so that a command can write its flags and `--set`
 * overrides into it first and validate the result once with the kind's schema.
 *
 * `extends` names a preset of the same kind (experiments/presets/<kind>/, by name or alias) or another config
 * file, relative to the folder of the file that says it; the parent may extend in turn. The child's fields
 * are merged into the parent's (objects key by key, lists and other values replaced). Every message names
 * the file and the field in one line; a bad field is reported in the file of the chain that wrote it.
 */
export interface ConfigKind {
  /** What the kind is called in messages: 'pretraining config', 'experiment config'. */
  label: string;
  /** Its presets, when it has any (then a command's --config may name one). */
  presets?: PresetKind;
  /**
   * Applied to each file of a chain before merging: expand preset names it holds (a pretraining `model`),
   * make its relative paths absolute against `dir`, its folder (null for a preset, which holds none).
   */
  prepare?(raw: Record<string, unknown>, dir: string | null, where: string): Record<string, unknown>;
  /** Whether the child's value at `key` replaces the parent's whole instead of merging into it. */
  replaces?(key: readonly string[], child: Record<string, unknown>, parent: Record<string, unknown>): boolean;
}

export interface ResolvedConfig {
  /** The merged config, not validated. */
  raw: Record<string, unknown>;
  /** The config as the user named it: the file as given, or 'preset <name>'. */
  where: string;
  /** The files of the chain, the named one first, then what it extends, and so on. */
  chain: string[];
  /** The file of the chain that wrote the field at `field` (the named one when none did). */
  whereOf(field: ReadonlyArray<string | number>): string;
}

interface Link {
  where: string;
  raw: Record<string, unknown>;
}

function parseFile(file: string, where: string, kind: ConfigKind): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${where}: invalid JSON (${(e as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new UserError(`${where}: ${/^[aeiou]/.test(kind.label) ? 'an' : 'a'} ${kind.label} must be a JSON object`);
  return raw as Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>, kind: ConfigKind, at: string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    const key = [...at, k];
    out[k] = isObject(v) && isObject(b) && !kind.replaces?.(key, v, b) ? deepMerge(b, v, kind, key) : structuredClone(v);
  }
  return out;
}

/** A preset's content as a link of a chain. */
function presetLink(kind: ConfigKind, name: string): Link | null {
  const p = kind.presets ? findPreset(kind.presets, name) : undefined;
  if (!p) return null;
  const where = `preset ${name}`;
  const raw = structuredClone(p.json) as Record<string, unknown>;
  return { where, raw: kind.prepare ? kind.prepare(raw, null, where) : raw };
}

function fileLink(kind: ConfigKind, file: string, where: string): Link {
  const raw = parseFile(file, where, kind);
  return { where, raw: kind.prepare ? kind.prepare(raw, path.dirname(path.resolve(file)), where) : raw };
}

/** The parent a link's `extends` names: a preset of the kind, else a file relative to the link's own folder. */
function parentOf(kind: ConfigKind, link: Link, dir: string | null): { link: Link; dir: string | null; id: string } {
  const ext = link.raw.extends;
  if (typeof ext !== 'string' || ext.trim() === '')
    throw new UserError(`${link.where}: extends: must be a preset name or a file path, got ${JSON.stringify(ext)}`);
  const preset = presetLink(kind, ext);
  if (preset) return { link: preset, dir: null, id: `preset:${findPreset(kind.presets!, ext)!.name}` };
  const presets = kind.presets ? `a ${kind.label} preset (${presetList(kind.presets)})` : null;
  // a preset extends presets only: it has no folder of its own
  if (dir === null) throw new UserError(`${link.where}: extends: '${ext}' is not ${presets ?? 'a preset'}`);
  const file = path.resolve(dir, ext);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new UserError(`${link.where}: extends: '${ext}' is ${presets ? `neither ${presets} nor` : 'not'} a file (looked for ${file})`);
  }
  const where = path.relative(process.cwd(), file) || file;
  return { link: fileLink(kind, file, where), dir: path.dirname(file), id: `file:${file}` };
}

/**
 * The config `spec` names (a preset of the kind or a file), its `extends` chain merged. `flag` is the option
 * that gave it, for the message when it is neither.
 */
export function resolveConfig(spec: string, kind: ConfigKind, opts: { flag?: string } = {}): ResolvedConfig {
  if (spec.trim() === '') throw new UsageError(`${opts.flag ?? '--config'}: give ${kind.presets ? 'a preset or ' : ''}a config file`);
  let first = presetLink(kind, spec);
  let dir: string | null = null;
  let id = first ? `preset:${findPreset(kind.presets!, spec)!.name}` : '';
  if (!first) {
    if (!fs.existsSync(spec) || !fs.statSync(spec).isFile()) {
      if (kind.presets) throw new UsageError(`${opts.flag ?? '--config'}: '${spec}' is neither a preset (${presetList(kind.presets)}) nor a file`);
      throw new UserError(`${spec}: no such ${kind.label}`);
    }
    first = fileLink(kind, spec, spec);
    dir = path.dirname(path.resolve(spec));
    id = `file:${path.resolve(spec)}`;
  }
  const chain: Link[] = [first];
  const seen = [id];
  for (let link = first; link.raw.extends !== undefined;) {
    const parent = parentOf(kind, link, dir);
    if (seen.includes(parent.id))
      throw new UserError(
        `${link.where}: extends: '${String(link.raw.extends)}' is already in the chain (${[...chain.map((l) => l.where), parent.link.where].join(' -> ')})`,
      );
    seen.push(parent.id);
    chain.push(parent.link);
    link = parent.link;
    dir = parent.dir;
  }
  // the root first, each child merged over what it extends
  let raw: Record<string, unknown> = {};
  for (const link of [...chain].reverse()) {
    const { extends: _ext, ...own } = link.raw;
    raw = deepMerge(raw, own, kind);
  }
  return {
    raw,
    where: first.where,
    chain: chain.map((l) => l.where),
    whereOf: (field) => chain.find((l) => valueAt(l.raw, field) !== undefined)?.where ?? first.where,
  };
}

/** A config built in code (a command's flags), as a one-link chain named `where`. */
export function inlineConfig(raw: Record<string, unknown>, where: string): ResolvedConfig {
  return { raw, where, chain: [where], whereOf: () => where };
}
