/**
 * Menu screen: run settings (mapped onto EvolutionConfig overrides), presets, preview, start / load.
 * Its defaults and the values each setting accepts are the server's (GET /api/defaults); the form
 * shows once they have arrived.
 */
import { ApiError, api } from '../api';
import { clear, h } from '../dom';
import { MenuPreview, type PreviewParams } from '../render/preview';
import { store } from '../store';
import type { Activation, DeepPartial, Defaults, EvolutionConfig, Preset } from '../types';
import { checkbox, slider } from '../widgets/slider';

export interface MenuValues {
  preset: string;
  gravity: number;
  mutationPct: number;
  maxFrequency: number;
  duration: number;
  maxNodes: number;
  maxMuscles: number;
  maxSize: number;
  population: number;
  trials: number;
  useMutation: boolean;
  useCrossover: boolean;
  neuralEnabled: boolean;
  neuralMode: 'hybrid' | 'pure';
  hiddenSize: number;
  activation: Activation;
  weightMutPct: number;
  weightMutMag: number;
  fitness: { pellet: number; progress: number; regression: number; movement: number };
  turbo: boolean;
  name: string;
  seed: string;
}

const STORAGE_KEY = 'evolab.menu.v2'; // v2: trials and node size (v1 values would pin the old ones)

/** The menu values a whole configuration describes (a preset's, or the server's defaults). */
export function valuesOf(preset: string, cfg: EvolutionConfig): MenuValues {
  const { sim, constraints: con } = cfg;
  const fw = sim.fitness;
  return {
    preset,
    gravity: sim.gravity,
    mutationPct: Math.round(cfg.mutation_rate * 100),
    maxFrequency: sim.max_allowed_frequency,
    duration: sim.duration,
    maxNodes: con.max_nodes,
    maxMuscles: con.max_muscles,
    maxSize: con.max_size,
    population: cfg.population_size,
    trials: cfg.trials,
    useMutation: cfg.use_mutation,
    useCrossover: cfg.use_crossover,
    neuralEnabled: sim.neural_mode !== 'off',
    neuralMode: sim.neural_mode === 'pure' ? 'pure' : 'hybrid', // what "Enable neural network" turns on
    hiddenSize: cfg.neural_hidden_size,
    activation: cfg.neural_activation,
    weightMutPct: Math.round(cfg.weight_mutation_rate * 100),
    weightMutMag: cfg.weight_mutation_magnitude,
    fitness: { pellet: fw.pellet, progress: fw.progress, regression: fw.regression, movement: fw.movement },
    turbo: false,
    name: '',
    seed: '',
  };
}

/** The `config` overrides of POST /api/runs for these menu values. */
export function configFromValues(v: MenuValues): DeepPartial<EvolutionConfig> {
  return {
    population_size: v.population,
    trials: v.trials,
    mutation_rate: v.mutationPct / 100,
    use_mutation: v.useMutation,
    use_crossover: v.useCrossover,
    neural_hidden_size: v.hiddenSize,
    neural_activation: v.activation,
    weight_mutation_rate: v.weightMutPct / 100,
    weight_mutation_magnitude: v.weightMutMag,
    constraints: { max_nodes: v.maxNodes, max_muscles: v.maxMuscles, max_size: v.maxSize, max_frequency: v.maxFrequency },
    sim: {
      gravity: v.gravity,
      duration: v.duration,
      max_allowed_frequency: v.maxFrequency,
      neural_mode: v.neuralEnabled ? v.neuralMode : 'off',
      fitness: { ...v.fitness },
    },
  };
}

/** The values this browser last used, over `base` (the server's defaults) for any it lacks. */
function loadSaved(base: MenuValues): MenuValues {
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw) {
      const saved = JSON.parse(raw) as Partial<MenuValues>;
      return { ...base, ...saved, fitness: { ...base.fitness, ...(saved.fitness ?? {}) } };
    }
  } catch {
    /* ignore a corrupt entry */
  }
  return { ...base, fitness: { ...base.fitness } };
}

export interface MenuScreen {
  el: HTMLElement;
  show(): void;
  hide(): void;
}

export function createMenu(navigate: (hash: string) => void, openLoad: () => void): MenuScreen {
  // set once the server's defaults arrive (`loadDefaults`); the form is not on the page before
  let defaults: Defaults | null = null;
  let base: MenuValues; // those defaults as menu values
  let values: MenuValues;
  let presets: Preset[] = [];
  const save = (): void => {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(values));
    } catch {
      /* storage full or disabled */
    }
  };
  const readAll = (): void => {
    values = {
      ...values,
      preset: presetSelect.value || values.preset,
      gravity: s.gravity.get(),
      mutationPct: s.mutation.get(),
      maxFrequency: s.maxFrequency.get(),
      duration: s.duration.get(),
      maxNodes: s.maxNodes.get(),
      maxMuscles: s.maxMuscles.get(),
      maxSize: s.maxSize.get(),
      population: s.population.get(),
      trials: s.trials.get(),
      useMutation: mutationBox.input.checked,
      useCrossover: crossoverBox.input.checked,
      neuralEnabled: neuralBox.input.checked,
      neuralMode: neuralModeSelect.value as 'hybrid' | 'pure',
      hiddenSize: s.hidden.get(),
      activation: activationSelect.value as Activation,
      weightMutPct: s.weightRate.get(),
      weightMutMag: s.weightMag.get(),
      fitness: {
        pellet: s.pellet.get(),
        progress: s.progress.get(),
        regression: s.regression.get(),
        movement: s.movement.get(),
      },
      turbo: turboBox.input.checked,
      name: nameInput.value,
      seed: seedInput.value.trim(),
    };
    save();
  };
  const changed = (): void => {
    readAll();
    errorLine.textContent = '';
    neuralOptions.classList.toggle('hidden', !values.neuralEnabled);
    preview?.update(previewParams());
  };
  const previewParams = (): PreviewParams => ({
    maxNodes: values.maxNodes,
    maxMuscles: values.maxMuscles,
    maxFrequency: values.maxFrequency,
    gravity: values.gravity,
  });

  const s = {
    gravity: slider({ label: 'Gravity', testid: 'menu-gravity', min: -30, max: -5, step: 0.1, format: (v) => `${v.toFixed(1)} m/s²`, onInput: changed }),
    mutation: slider({ label: 'Mutation Rate', testid: 'menu-mutation', min: 5, max: 80, step: 1, format: (v) => `${v}%`, onInput: changed }),
    maxFrequency: slider({
      label: 'Max Frequency',
      testid: 'menu-max-frequency',
      min: 1,
      max: 10,
      step: 0.5,
      format: (v) => `${v.toFixed(1)} Hz`,
      onInput: changed,
      onChange: () => preview?.update(previewParams(), true),
      hint: 'Muscles faster than this disqualify a creature; also the fastest frequency a new gene gets',
    }),
    duration: slider({ label: 'Sim Duration', testid: 'menu-duration', min: 3, max: 20, step: 1, format: (v) => `${v} s`, onInput: changed }),
    maxNodes: slider({ label: 'Max Nodes', testid: 'menu-max-nodes', min: 2, max: 15, step: 1, format: (v) => `${v}`, onInput: changed }),
    maxMuscles: slider({ label: 'Max Muscles', testid: 'menu-max-muscles', min: 1, max: 30, step: 1, format: (v) => `${v}`, onInput: changed }),
    maxSize: slider({
      label: 'Max Node Size',
      testid: 'menu-max-size',
      min: 0.4,
      max: 2,
      step: 0.1,
      format: (v) => v.toFixed(1),
      onInput: changed,
      hint: 'Largest node diameter: bigger nodes reach the pellets, which hang 0.4 higher each time',
    }),
    population: slider({ label: 'Population', testid: 'menu-population', min: 10, max: 1000, step: 10, format: (v) => `${v}`, onInput: changed }),
    trials: slider({
      label: 'Trials',
      testid: 'menu-trials',
      min: 1,
      max: 16,
      step: 1,
      format: (v) => `${v} layout${v === 1 ? '' : 's'}`,
      onInput: changed,
      hint: 'Pellet layouts each creature is judged on per generation; its fitness is the mean',
    }),
    hidden: slider({ label: 'Hidden Size', testid: 'menu-hidden-size', min: 4, max: 32, step: 4, format: (v) => `${v}`, onInput: changed }),
    weightRate: slider({ label: 'Weight Mut. Rate', testid: 'menu-weight-rate', min: 1, max: 50, step: 1, format: (v) => `${v}%`, onInput: changed }),
    weightMag: slider({ label: 'Weight Mut. Mag', testid: 'menu-weight-magnitude', min: 0.1, max: 1, step: 0.1, format: (v) => v.toFixed(1), onInput: changed }),
    pellet: slider({ label: 'Pellet', testid: 'menu-fitness-pellet', min: 0, max: 300, step: 5, format: (v) => `${v}`, onInput: changed, hint: 'Points per collected pellet' }),
    progress: slider({ label: 'Progress', testid: 'menu-fitness-progress', min: 0, max: 200, step: 5, format: (v) => `${v}`, onInput: changed, hint: 'Points for closing the distance to the active pellet' }),
    regression: slider({ label: 'Regression', testid: 'menu-fitness-regression', min: 0, max: 100, step: 1, format: (v) => `${v}`, onInput: changed, hint: 'Penalty for moving away from the pellet' }),
    movement: slider({ label: 'Movement', testid: 'menu-fitness-movement', min: 0, max: 100, step: 1, format: (v) => `${v}`, onInput: changed, hint: 'Points for moving at all' }),
  };

  const mutationBox = checkbox('Mutation', 'menu-use-mutation', () => {
    if (!mutationBox.input.checked && !crossoverBox.input.checked) crossoverBox.input.checked = true;
    changed();
  });
  const crossoverBox = checkbox('Crossover', 'menu-use-crossover', () => {
    if (!mutationBox.input.checked && !crossoverBox.input.checked) mutationBox.input.checked = true;
    changed();
  });
  const turboBox = checkbox('Turbo (store no frames; replays are re-simulated)', 'menu-turbo', changed);
  const neuralBox = checkbox('Enable neural network', 'menu-neural', changed);
  const neuralModeSelect = h(
    'select',
    { testid: 'menu-neural-mode', onchange: changed },
    h('option', { value: 'hybrid', title: 'The network modulates each muscle oscillator' }, 'Hybrid'),
    h('option', { value: 'pure', title: 'The network alone drives the muscles' }, 'Pure'),
  );
  const activationSelect = h(
    'select',
    { testid: 'menu-activation', onchange: changed },
    h('option', { value: 'tanh' }, 'tanh'),
    h('option', { value: 'relu' }, 'ReLU'),
    h('option', { value: 'sigmoid' }, 'sigmoid'),
  );
  const neuralOptions = h(
    'div',
    { class: 'neural-options' },
    h('label', { class: 'field' }, h('span', null, 'Mode (hybrid modulates the oscillator)'), neuralModeSelect),
    s.hidden.row,
    h('label', { class: 'field' }, h('span', null, 'Activation'), activationSelect),
    s.weightRate.row,
    s.weightMag.row,
  );
  const nameInput = h('input', { type: 'text', placeholder: 'Name this run… (optional)', testid: 'menu-name', maxlength: '120' });
  nameInput.addEventListener('input', changed);
  const seedInput = h('input', { type: 'number', placeholder: 'random', testid: 'menu-seed', step: '1', min: '0' });
  seedInput.addEventListener('input', changed);

  const presetSelect = h('select', { testid: 'menu-preset' });
  const presetDesc = h('div', { class: 'preset-desc muted', testid: 'menu-preset-description' });
  presetSelect.addEventListener('change', () => applyPreset(presetSelect.value));
  // Saved presets can be deleted; the first click arms the button, the second deletes.
  const presetDeleteBtn = h(
    'button',
    { class: 'btn small ghost hidden', testid: 'menu-preset-delete', onclick: () => void deletePreset() },
    'Delete',
  );
  const presetNameInput = h('input', { type: 'text', placeholder: 'preset name', testid: 'menu-preset-name', maxlength: '60' });
  const presetSaveRow = h(
    'div',
    { class: 'preset-save hidden' },
    presetNameInput,
    h('button', { class: 'btn small', testid: 'menu-preset-save-confirm', onclick: () => void savePreset() }, 'Save'),
    h('button', { class: 'btn small ghost', onclick: () => presetSaveRow.classList.add('hidden') }, 'Cancel'),
  );
  presetNameInput.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') void savePreset();
    if (ev.key === 'Escape') {
      ev.stopPropagation();
      presetSaveRow.classList.add('hidden');
    }
  });
  const errorLine = h('div', { class: 'form-error', testid: 'menu-error', role: 'alert' });
  const startBtn = h('button', { class: 'btn primary big', testid: 'start-evolution', onclick: () => void start() }, 'Start Evolution');
  const loadBtn = h('button', { class: 'btn big', testid: 'load-run', onclick: () => openLoad() }, 'Load Run');

  function fill(v: MenuValues): void {
    s.gravity.set(v.gravity);
    s.mutation.set(v.mutationPct);
    s.maxFrequency.set(v.maxFrequency);
    s.duration.set(v.duration);
    s.maxNodes.set(v.maxNodes);
    s.maxMuscles.set(v.maxMuscles);
    s.maxSize.set(v.maxSize);
    s.population.set(v.population);
    s.trials.set(v.trials);
    s.hidden.set(v.hiddenSize);
    s.weightRate.set(v.weightMutPct);
    s.weightMag.set(v.weightMutMag);
    s.pellet.set(v.fitness.pellet);
    s.progress.set(v.fitness.progress);
    s.regression.set(v.fitness.regression);
    s.movement.set(v.fitness.movement);
    mutationBox.input.checked = v.useMutation;
    crossoverBox.input.checked = v.useCrossover || !v.useMutation;
    neuralBox.input.checked = v.neuralEnabled;
    neuralModeSelect.value = v.neuralMode;
    activationSelect.value = v.activation;
    turboBox.input.checked = v.turbo;
    nameInput.value = v.name;
    seedInput.value = v.seed;
    if ([...presetSelect.options].some((o) => o.value === v.preset)) presetSelect.value = v.preset;
    changed();
  }

  function showPresetDelete(): void {
    const saved = presets.some((p) => p.name === presetSelect.value && !p.builtin);
    presetDeleteBtn.classList.toggle('hidden', !saved);
    presetDeleteBtn.textContent = 'Delete';
    delete presetDeleteBtn.dataset.armed;
  }

  async function deletePreset(): Promise<void> {
    const name = presetSelect.value;
    if (!presetDeleteBtn.dataset.armed) {
      presetDeleteBtn.dataset.armed = '1';
      presetDeleteBtn.textContent = `Delete "${name}"?`;
      return;
    }
    try {
      await api.deletePreset(name);
      values.preset = base.preset;
      save();
      await loadPresets();
      applyPreset(base.preset);
    } catch (err) {
      errorLine.textContent = err instanceof ApiError ? err.detail : String(err);
    }
  }

  function applyPreset(name: string): void {
    const preset = presets.find((p) => p.name === name);
    showPresetDelete();
    if (!preset) return;
    presetDesc.textContent = preset.description;
    fill({ ...valuesOf(name, preset.config), turbo: values.turbo, name: values.name, seed: values.seed });
  }

  function renderPresets(selected: string): void {
    clear(presetSelect);
    const builtin = presets.filter((p) => p.builtin);
    const user = presets.filter((p) => !p.builtin);
    presetSelect.append(h('optgroup', { label: 'Built-in' }, builtin.map((p) => h('option', { value: p.name }, p.name))));
    if (user.length) {
      presetSelect.append(h('optgroup', { label: 'Saved' }, user.map((p) => h('option', { value: p.name }, p.name))));
    }
    if (presets.some((p) => p.name === selected)) presetSelect.value = selected;
    presetDesc.textContent = presets.find((p) => p.name === presetSelect.value)?.description ?? '';
    showPresetDelete();
  }

  async function loadPresets(): Promise<void> {
    try {
      presets = await api.presets();
    } catch {
      presets = defaults ? [{ name: defaults.preset, builtin: true, description: '', config: defaults.config }] : [];
    }
    renderPresets(values.preset);
  }

  async function savePreset(): Promise<void> {
    const name = presetNameInput.value.trim();
    if (!name) {
      presetNameInput.focus();
      return;
    }
    readAll();
    try {
      await api.savePreset(name, configFromValues(values), true);
      presetSaveRow.classList.add('hidden');
      presetNameInput.value = '';
      errorLine.textContent = '';
      values.preset = name;
      save();
      await loadPresets();
      presetSelect.value = name;
      showPresetDelete();
    } catch (err) {
      errorLine.textContent = err instanceof ApiError ? err.detail : String(err);
    }
  }

  async function start(): Promise<void> {
    readAll();
    errorLine.textContent = '';
    let seed: number | undefined;
    if (values.seed !== '') {
      seed = Number(values.seed);
      if (!Number.isInteger(seed) || seed < 0) {
        errorLine.textContent = 'seed: must be a whole number ≥ 0';
        return;
      }
    }
    startBtn.disabled = true;
    startBtn.textContent = 'Starting…';
    try {
      const run = await api.createRun(
        {
          preset: values.preset || base.preset,
          config: configFromValues(values),
          name: values.name.trim() || undefined,
          seed,
          turbo: values.turbo,
        },
        true,
      );
      try {
        store.noteJob(await api.advance(run.id, 1));
      } catch {
        /* the grid offers "Next generation" */
      }
      navigate(`#/run/${encodeURIComponent(run.id)}`);
    } catch (err) {
      errorLine.textContent = err instanceof ApiError ? err.detail : String(err);
    } finally {
      startBtn.disabled = false;
      startBtn.textContent = 'Start Evolution';
    }
  }

  const resetBtn = h(
    'button',
    {
      class: 'btn small ghost',
      testid: 'menu-fitness-reset',
      onclick: () => {
        s.pellet.set(base.fitness.pellet);
        s.progress.set(base.fitness.progress);
        s.regression.set(base.fitness.regression);
        s.movement.set(base.fitness.movement);
        changed();
      },
    },
    'Reset to defaults',
  );

  let preview: MenuPreview | null = null;
  const previewHost = h('div', { class: 'preview-host' });

  const form = [
    h(
      'aside',
      { class: 'panel menu-side' },
      h('div', { class: 'panel-head' }, h('span', null, 'Neural Network')),
      neuralBox.row,
      neuralOptions,
      h('p', { class: 'muted small' }, 'Sensors: pellet direction, velocity direction, pellet distance and a time phase; one output per muscle.'),
    ),
    h(
      'main',
      { class: 'menu-center' },
      h('h1', null, 'Evolution Lab'),
      h('p', { class: 'subtitle' }, 'Soft-bodied creatures evolve to collect pellets'),
      previewHost,
      h(
        'div',
        { class: 'panel menu-form' },
        h(
          'div',
          { class: 'preset-row' },
          h('label', { class: 'field grow' }, h('span', null, 'Preset'), presetSelect),
          h(
            'button',
            {
              class: 'btn small ghost',
              testid: 'menu-preset-save',
              onclick: () => {
                presetSaveRow.classList.remove('hidden');
                presetNameInput.focus();
              },
            },
            'Save as preset…',
          ),
          presetDeleteBtn,
        ),
        presetSaveRow,
        presetDesc,
        h(
          'div',
          { class: 'slider-grid' },
          s.gravity.row,
          s.mutation.row,
          s.maxFrequency.row,
          s.duration.row,
          s.maxNodes.row,
          s.maxMuscles.row,
          s.maxSize.row,
          s.population.row,
          s.trials.row,
        ),
        h('div', { class: 'check-row' }, h('span', { class: 'muted' }, 'Evolution mode'), mutationBox.row, crossoverBox.row),
        h('div', { class: 'check-row' }, turboBox.row),
        h(
          'div',
          { class: 'field-row' },
          h('label', { class: 'field grow' }, h('span', null, 'Run name'), nameInput),
          h('label', { class: 'field' }, h('span', null, 'Seed'), seedInput),
        ),
        errorLine,
        h('div', { class: 'menu-buttons' }, startBtn, loadBtn),
      ),
    ),
    h(
      'aside',
      { class: 'panel menu-side' },
      h('div', { class: 'panel-head' }, h('span', null, 'Fitness Function')),
      h('p', { class: 'muted small' }, 'Weights of the fitness terms; they drive selection.'),
      s.pellet.row,
      s.progress.row,
      s.regression.row,
      s.movement.row,
      resetBtn,
    ),
  ];

  const loadingText = h('span', null, 'Loading the server’s settings…');
  const retryBtn = h('button', { class: 'btn small hidden', testid: 'menu-retry', onclick: () => void loadDefaults() }, 'Retry');
  const loading = h('div', { class: 'menu-loading muted', testid: 'menu-loading' }, loadingText, retryBtn);
  const el = h('div', { class: 'screen menu-screen', testid: 'menu-screen' }, loading);
  let visible = false;
  let fetching = false;

  function startPreview(): void {
    if (!preview) {
      preview = new MenuPreview(previewParams());
      previewHost.append(preview.canvas);
    }
    preview.start();
  }

  /** The server's defaults and limits, then the form filled with this browser's last values over them. */
  async function loadDefaults(): Promise<void> {
    if (defaults || fetching) return;
    fetching = true;
    loadingText.textContent = 'Loading the server’s settings…';
    retryBtn.classList.add('hidden');
    try {
      const d = await api.defaults();
      base = valuesOf(d.preset, d.config);
      const r = d.ranges;
      s.gravity.limit(base.gravity, r['sim.gravity']);
      s.mutation.limit(base.mutationPct, r['mutation_rate'], 100);
      // one slider sets both: a new gene's fastest frequency, and the speed that disqualifies
      s.maxFrequency.limit(base.maxFrequency, r['constraints.max_frequency']);
      s.duration.limit(base.duration, r['sim.duration']);
      s.maxNodes.limit(base.maxNodes, r['constraints.max_nodes']);
      s.maxMuscles.limit(base.maxMuscles, r['constraints.max_muscles']);
      s.maxSize.limit(base.maxSize, r['constraints.max_size']);
      s.population.limit(base.population, r['population_size']);
      s.trials.limit(base.trials, r['trials']);
      s.hidden.limit(base.hiddenSize, r['neural_hidden_size']);
      s.weightRate.limit(base.weightMutPct, r['weight_mutation_rate'], 100);
      s.weightMag.limit(base.weightMutMag, r['weight_mutation_magnitude']);
      for (const k of ['pellet', 'progress', 'regression', 'movement'] as const) {
        s[k].limit(base.fitness[k], r[`sim.fitness.${k}`]);
      }
      defaults = d;
      values = loadSaved(base);
      el.replaceChildren(...form);
      fill(values);
      if (visible) startPreview();
      void loadPresets();
    } catch {
      loadingText.textContent = 'The server’s settings could not be loaded.';
      retryBtn.classList.remove('hidden');
    } finally {
      fetching = false;
    }
  }

  void loadDefaults();

  return {
    el,
    show() {
      visible = true;
      el.classList.remove('hidden');
      if (!defaults) {
        void loadDefaults();
        return;
      }
      startPreview();
      void loadPresets();
    },
    hide() {
      visible = false;
      el.classList.add('hidden');
      preview?.stop();
    },
  };
}
