import type { CatalogItem } from './api.ts';

/**
 * How a shape is listed: its path, led by the category name when the folder is named otherwise (ShapeNet's
 * synset folders: `02691156/points/1a04….pts` is listed as `Airplane · points/1a04….pts`).
 */
export function itemLabel(it: CatalogItem): string {
  const slash = it.path.indexOf('/');
  if (!it.category || slash < 0 || it.path.slice(0, slash) === it.category) return it.path;
  return `${it.category} · ${it.path.slice(slash + 1)}`;
}

/**
 * The shape list of a served folder with class and split filters and previous/next. It only selects; the
 * app loads. Keyboard: [ and ] step through the filtered list.
 */
export class DatasetBrowser {
  private items: CatalogItem[] = [];
  private filtered: CatalogItem[] = [];
  private current: string | null = null;
  onSelect: (item: CatalogItem) => void = () => {};
  onFilter: (category: string, split: string) => void = () => {};

  constructor(
    private readonly root: HTMLElement,
    private readonly list: HTMLSelectElement,
    private readonly category: HTMLSelectElement,
    private readonly split: HTMLSelectElement,
    private readonly counter: HTMLElement,
    prev: HTMLButtonElement,
    next: HTMLButtonElement,
  ) {
    list.addEventListener('change', () => {
      const it = this.filtered[list.selectedIndex];
      if (it) this.onSelect(it);
    });
    const refilter = (): void => {
      this.applyFilter();
      this.onFilter(category.value, split.value);
    };
    category.addEventListener('change', refilter);
    split.addEventListener('change', refilter);
    prev.addEventListener('click', () => this.step(-1));
    next.addEventListener('click', () => this.step(1));
  }

  setItems(items: CatalogItem[], category: string, split: string): void {
    this.items = items;
    this.root.hidden = items.length <= 1;
    const fill = (sel: HTMLSelectElement, values: string[], all: string, chosen: string): void => {
      sel.replaceChildren(new Option(all, ''), ...values.map((v) => new Option(v, v)));
      sel.value = values.includes(chosen) ? chosen : '';
      sel.disabled = values.length === 0;
    };
    const uniq = (f: (it: CatalogItem) => string): string[] => [...new Set(items.map(f).filter((v) => v !== ''))].sort();
    fill(
      this.category,
      uniq((it) => it.category),
      'all classes',
      category,
    );
    fill(
      this.split,
      uniq((it) => it.split),
      'all splits',
      split,
    );
    this.applyFilter();
  }

  private applyFilter(): void {
    const c = this.category.value,
      s = this.split.value;
    this.filtered = this.items.filter((it) => (!c || it.category === c) && (!s || it.split === s));
    const opts = this.filtered.map((it) => {
      const o = new Option(itemLabel(it), it.path);
      o.title = it.path;
      return o;
    });
    this.list.replaceChildren(...opts);
    this.mark(this.current);
  }

  /** Highlight `path` (after a load from anywhere: URL, list, next/prev). */
  mark(path: string | null): void {
    this.current = path;
    const i = this.filtered.findIndex((it) => it.path === path);
    this.list.selectedIndex = i;
    this.counter.textContent = `${i >= 0 ? i + 1 : '–'} / ${this.filtered.length}`;
  }

  first(): CatalogItem | null {
    return this.filtered[0] ?? this.items[0] ?? null;
  }

  find(path: string): CatalogItem | null {
    return this.items.find((it) => it.path === path) ?? null;
  }

  step(delta: number): void {
    if (this.filtered.length === 0) return;
    const i = this.filtered.findIndex((it) => it.path === this.current);
    const j = i < 0 ? 0 : (i + delta + this.filtered.length) % this.filtered.length;
    this.onSelect(this.filtered[j]!);
  }
}
