/** Where the grid screen's generations come from: the API, through a small cache, refreshed as the run grows. */
import { api } from '../api';
import type { CreatureCard, GenerationDetail } from '../types';
import type { GridState } from './gridState';

/** Generations kept: the one shown, its neighbours for browsing, and the minis' (best, longest survivor). */
const CACHE_MAX = 8;
/** Fast runs store several generations a second; redrawing every one would starve the thumbnails. */
const REFRESH_MIN_MS = 1000;

export class GenerationSource {
  private readonly cache = new Map<string, GenerationDetail>();
  /** Bumped by every `show`: an answer for an older one is dropped. */
  private token = 0;
  private refreshing = false;
  private refreshAgain = false;
  private lastRefresh = 0;

  /**
   * @param state the screen's run and generation
   * @param shown called with each generation `show` brings (null: the run has none to show)
   */
  constructor(
    private readonly state: GridState,
    private readonly shown: (detail: GenerationDetail | null) => void,
  ) {}

  /** A generation of a run: from the cache, or fetched (and kept). */
  async fetch(runId: string, g: number): Promise<GenerationDetail> {
    const key = `${runId}/${g}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const detail = await api.generation(runId, g);
    this.cache.set(key, detail);
    while (this.cache.size > CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    return detail;
  }

  /** One creature's card in a generation of the screen's run; null when it was not in it. */
  async card(g: number, creatureId: string): Promise<CreatureCard | null> {
    if (!this.state.runId) return null;
    const detail = await this.fetch(this.state.runId, g);
    return detail.creatures.find((c) => c.id === creatureId) ?? null;
  }

  /** The stored copy of a generation is stale (it was re-stored); the next read fetches it. */
  forget(runId: string, g: number): void {
    this.cache.delete(`${runId}/${g}`);
  }

  clear(): void {
    this.cache.clear();
  }

  /** Bring generation `g` of the screen's run to `shown`, unless another `show` overtakes it (`fresh`:
   * fetch it again even when cached). Failed reads were toasted by the API client. */
  async show(g: number, fresh = false): Promise<void> {
    const id = this.state.runId;
    if (!id || g < 0) {
      this.shown(null);
      return;
    }
    const mine = ++this.token;
    if (fresh) this.forget(id, g);
    try {
      const detail = await this.fetch(id, g);
      if (mine !== this.token || id !== this.state.runId) return;
      this.state.shownGen = g;
      this.shown(detail);
    } catch {
      /* toast already shown */
    }
  }

  /** Show the latest generation again after a live update: one request at a time, at most once a second,
   * and once more afterwards when updates arrived meanwhile (if the screen still follows the latest). */
  async refreshLatest(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = true;
    const wait = this.lastRefresh + REFRESH_MIN_MS - performance.now();
    if (wait > 0) await new Promise((r) => window.setTimeout(r, wait));
    this.lastRefresh = performance.now();
    try {
      await this.show(this.state.latest);
    } finally {
      this.refreshing = false;
      if (this.refreshAgain) {
        this.refreshAgain = false;
        if (this.state.viewed === null) void this.refreshLatest();
      }
    }
  }
}
