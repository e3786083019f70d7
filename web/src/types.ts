/**
 * JSON shapes of the evolab HTTP API. What the server declares comes from its OpenAPI schema:
 * `api-schema.d.ts` is generated from `openapi.json` (written by `make web`) on every `npm run build`,
 * so these names cannot drift from the server. Written by hand here are only the client's own types:
 * views the client narrows, the WebSocket's messages (not part of OpenAPI) and the genome format,
 * which the API passes through as an untyped object.
 */
import type { components, paths } from './api-schema';

type Schemas = components['schemas'];

// ---------- the server's documents ----------
export type RunSummary = Schemas['RunSummary'];
export type RunDetail = Schemas['RunDetail'];
export type RunStatus = RunSummary['status'];
export type EvolutionConfig = Schemas['EvolutionConfig'];
export type NeuralMode = Schemas['SimConfig']['neural_mode'];
export type Activation = EvolutionConfig['neural_activation'];
export type BenchmarkProgress = Schemas['BenchmarkProgressDoc'];
export type GenerationStats = Schemas['GenerationStatsDoc'];
export type GenerationDetail = Schemas['GenerationDoc'];
export type CreatureCard = Schemas['CreatureCard'];
export type Hsl = Schemas['Color'];
export type Replay = Schemas['ReplayDoc'];
export type Lineage = Schemas['LineageDoc'];
export type Ancestor = Schemas['AncestorDoc'];
export type Preset = Schemas['PresetDoc'];
export type Defaults = Schemas['DefaultsDoc'];
export type FieldRange = Schemas['FieldRange'];
export type Job = Schemas['JobDoc'];
export type JobsState = Schemas['JobsDoc'];
export type Health = Schemas['HealthDoc'];
export type Stopping = Schemas['StopDoc'];
export type RunPage = Schemas['RunPage'];
export type PresetPage = Schemas['PresetPage'];
export type GenerationStatsPage = Schemas['GenerationStatsPage'];
export type ImportResult = Schemas['ImportDoc'];
export type LineageMode = NonNullable<
  NonNullable<paths['/api/runs/{run_id}/creatures/{creature_id}/lineage']['get']['parameters']['query']>['mode']
>;

// ---------- the client's own ----------
export type Vec3 = [number, number, number];

/** A result's scores over its trials (the spread and the per-trial pellets are null for one trial). */
export type TrialScores = Pick<CreatureCard, 'fitness' | 'fitness_std' | 'pellets' | 'trial_pellets'>;

/** Nested partial of a config, as sent in `config` overrides. */
export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** POST /api/runs; the server takes any nested overrides, the client sends only a config's own keys. */
export type CreateRunBody = Omit<Schemas['CreateRunRequest'], 'config'> & { config?: DeepPartial<EvolutionConfig> };

export interface GenomeNode {
  id: string;
  size: number;
  friction: number;
  position: { x: number; y: number; z: number };
}

export interface GenomeMuscle {
  id: string;
  nodeA: string;
  nodeB: string;
  restLength: number;
  stiffness: number;
  damping: number;
  frequency: number;
  amplitude: number;
  phase: number;
  directionBias: { x: number; y: number; z: number };
  biasStrength: number;
  velocityBias: { x: number; y: number; z: number };
  velocityStrength: number;
  distanceBias: number;
  distanceStrength: number;
}

export interface NeuralGenomeJson {
  weights: number[];
  topology: { inputSize: number; hiddenSize: number; outputSize: number };
  activation: Activation;
}

/** The genome format (`Genome.to_dict` in evolab/genome), camelCase keys. */
export interface Genome {
  schemaVersion: number;
  id: string;
  generation: number;
  survivalStreak: number;
  parentIds: string[];
  nodes: GenomeNode[];
  muscles: GenomeMuscle[];
  globalFrequencyMultiplier: number;
  color: Hsl;
  /** The genome format's name for the network (the API contract says `neural`; both are accepted). */
  neuralGenome?: NeuralGenomeJson | null;
  neural?: NeuralGenomeJson | null;
  controllerType?: 'oscillator' | 'neural';
}

export function neuralOf(genome: Genome): NeuralGenomeJson | null {
  return genome.neuralGenome ?? genome.neural ?? null;
}

/** A creature's genome and results; the schema leaves the genome an untyped object. */
export type CreatureDetail = Omit<Schemas['CreatureDoc'], 'genome'> & { genome: Genome };

/** What /api/ws sends: `hello` on connecting, then the events of every writer. */
export type LiveMessage =
  | { type: 'hello'; runs: RunSummary[]; jobs: JobsState }
  | { type: 'runs'; runs: RunSummary[] }
  | { type: 'generation'; run_id: string; stats: GenerationStats; run: RunSummary }
  | { type: 'job'; job: Job };
