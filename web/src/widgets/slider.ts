/** The menu's inputs: a slider with a number field beside it, and a labelled checkbox. */
import { h } from '../dom';
import type { FieldRange } from '../types';

const clampTo = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/**
 * The span a slider covers: its comfortable `span` (the screen's choice), stretched to reach `keep`
 * (the server's default) and cut to what the server accepts (`range`, in config units; `scale` menu
 * units per config unit, 100 for a percentage).
 */
export function sliderSpan(
  span: [number, number],
  step: number,
  keep: number,
  range: FieldRange | undefined,
  scale = 1,
): [number, number] {
  let lo = Math.min(span[0], keep);
  let hi = Math.max(span[1], keep);
  if (range) {
    // an exclusive bound is not a value: the first step inside it is
    const min = range.minimum ?? (range.exclusive_minimum !== null ? range.exclusive_minimum + step / scale : null);
    const max = range.maximum ?? (range.exclusive_maximum !== null ? range.exclusive_maximum - step / scale : null);
    if (min !== null) lo = Math.max(lo, min * scale);
    if (max !== null) hi = Math.min(hi, max * scale);
  }
  return [lo, Math.max(lo, hi)];
}

export interface Slider {
  row: HTMLElement;
  get(): number;
  set(v: number): void;
  /** Fit the span to the server's default and limits (see `sliderSpan`). */
  limit(keep: number, range: FieldRange | undefined, scale?: number): void;
}

/** A range input and a number field that stay in step (typed values snap to the step and the span). */
export function slider(opts: {
  label: string;
  testid: string;
  /** The comfortable span; `limit` fits it to the server's default and limits. */
  min: number;
  max: number;
  step: number;
  format: (v: number) => string;
  onInput: () => void;
  onChange?: () => void;
  hint?: string;
}): Slider {
  const decimals = (String(opts.step).split('.')[1] ?? '').length;
  let [min, max] = [opts.min, opts.max];
  const range = h('input', {
    type: 'range',
    min: String(opts.min),
    max: String(opts.max),
    step: String(opts.step),
    testid: opts.testid,
    'aria-label': opts.label,
  });
  const num = h('input', {
    type: 'number',
    class: 'num',
    min: String(opts.min),
    max: String(opts.max),
    step: String(opts.step),
    testid: `${opts.testid}-input`,
    'aria-label': `${opts.label} value`,
  });
  const shown = h('span', { class: 'slider-value mono' });
  const parse = (s: string): number => Number.parseFloat(s);
  const sync = (v: number): void => {
    const fixed = Number(v.toFixed(decimals));
    range.value = String(fixed);
    if (document.activeElement !== num) num.value = String(fixed);
    shown.textContent = opts.format(fixed);
  };
  range.addEventListener('input', () => {
    sync(parse(range.value));
    opts.onInput();
  });
  range.addEventListener('change', () => opts.onChange?.());
  num.addEventListener('change', () => {
    const v = parse(num.value);
    if (!Number.isFinite(v)) return sync(parse(range.value));
    const snapped = clampTo(Math.round((v - min) / opts.step) * opts.step + min, min, max);
    num.value = String(Number(snapped.toFixed(decimals)));
    sync(snapped);
    opts.onInput();
    opts.onChange?.();
  });
  const row = h(
    'label',
    { class: 'slider', title: opts.hint ?? '' },
    h('span', { class: 'slider-label' }, opts.label, ' ', shown),
    h('span', { class: 'slider-inputs' }, range, num),
  );
  return {
    row,
    get: () => Number(parse(range.value).toFixed(decimals)),
    set: (v: number) => sync(clampTo(v, min, max)),
    limit: (keep: number, fieldRange: FieldRange | undefined, scale = 1) => {
      [min, max] = sliderSpan([opts.min, opts.max], opts.step, keep, fieldRange, scale);
      for (const input of [range, num]) {
        input.min = String(Number(min.toFixed(decimals)));
        input.max = String(Number(max.toFixed(decimals)));
      }
    },
  };
}

/** A checkbox with its label. */
export function checkbox(label: string, testid: string, onChange: () => void): { row: HTMLElement; input: HTMLInputElement } {
  const input = h('input', { type: 'checkbox', testid });
  input.addEventListener('change', onChange);
  return { row: h('label', { class: 'check' }, input, h('span', null, label)), input };
}
