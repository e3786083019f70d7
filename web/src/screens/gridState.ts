/** What the grid screen knows about the run it shows: which run, which generation, and its job. No DOM. */
import { DEFAULT_STIFFNESS_RANGE } from '../render/body';
import type { Job, RunDetail, RunSummary } from '../types';

export class GridState {
  runId: string | null = null;
  run: RunDetail | null = null;
  /** The newest stored generation; -1 before generation 0 is. */
  latest = -1;
  /** The generation asked for; null follows the latest one. */
  viewed: number | null = null;
  /** The generation whose cards are on the screen. */
  shownGen = -1;
  visible = false;
  /** The server job queued or running on this run (the CLI's runs have none). */
  job: Job | null = null;

  get viewedGen(): number {
    return this.viewed ?? this.latest;
  }

  get inHistory(): boolean {
    return this.viewed !== null && this.viewed < this.latest;
  }

  /** The run's muscle stiffness bounds, which thumbnails and replays shade muscles by. */
  stiffnessRange(): [number, number] {
    const c = this.run?.config.constraints;
    return c ? [c.min_stiffness, c.max_stiffness] : DEFAULT_STIFFNESS_RANGE;
  }

  /** Forget the previous run: `id` is loading. */
  reset(id: string, job: Job | null): void {
    this.runId = id;
    this.run = null;
    this.latest = -1;
    this.viewed = null;
    this.shownGen = -1;
    this.job = job;
  }

  /** The run as the API just sent it; its newest generation becomes the latest. */
  setRun(detail: RunDetail): void {
    this.run = detail;
    this.latest = detail.generation_count - 1;
  }

  /** A run-list entry from the live socket: everything but the configuration, which it lacks. */
  mergeSummary(summary: RunSummary): void {
    if (!this.run || summary.id !== this.run.id) return;
    this.run = { ...this.run, ...summary, config: this.run.config };
    this.latest = Math.max(this.latest, summary.generation_count - 1);
  }

  /** The generation to view for a request of `g`: null (follow the latest) at or past the latest, 0 below 0. */
  viewFor(g: number | null): number | null {
    if (g !== null && (g >= this.latest || g < 0)) return g < 0 ? 0 : null;
    return g;
  }
}
