/** The grid screen's creature cards: one per creature of the shown generation, best first, with
 * thumbnails drawn as they scroll into view and a calm animation from one generation to the next. */
import { clear, h } from '../dom';
import { bodyFromCard } from '../render/body';
import { requestThumbnail, THUMB_SIZE } from '../render/thumbnails';
import type { CreatureCard, GenerationDetail } from '../types';
import { cardTooltip, hideTooltip, moveTooltip, showTooltip } from '../widgets/tooltip';
import type { GridState } from './gridState';

/** Cards rendered at first; large populations page in with "Show more". */
const CARD_PAGE = 200;

interface Slot {
  el: HTMLElement;
  canvas: HTMLCanvasElement;
  name: HTMLElement;
  fitness: HTMLElement;
  card: CreatureCard | null;
  /** The thumbnail shows an older creature or pose; redrawn when the card scrolls into view. */
  dirty: boolean;
  onScreen: boolean;
}

export class CreatureGrid {
  readonly el = h('div', { class: 'creature-grid', testid: 'creature-grid' });
  /** Says why there are no cards (loading, nothing evaluated yet, a failed load). */
  readonly empty = h('div', { class: 'grid-empty hidden', testid: 'grid-empty' });
  readonly more = h('button', { class: 'btn ghost more-btn hidden', testid: 'grid-show-more' });
  private readonly slots: Slot[] = [];
  private readonly slotOf = new WeakMap<Element, Slot>();
  private cardLimit = CARD_PAGE;
  private lastGeneration: GenerationDetail | null = null;
  private readonly visibility = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const slot = this.slotOf.get(e.target);
        if (!slot) continue;
        slot.onScreen = e.isIntersecting;
        if (slot.onScreen && slot.dirty) this.draw(slot);
      }
    },
    { rootMargin: '300px' },
  );

  /** @param open opens a card's replay, of the generation shown */
  constructor(
    private readonly state: GridState,
    private readonly open: (card: CreatureCard, generation: number) => void,
  ) {
    this.more.addEventListener('click', () => {
      this.cardLimit += CARD_PAGE * 5;
      if (this.lastGeneration) this.render(this.lastGeneration);
    });
  }

  /** No cards and no slots: a new run is loading. */
  reset(): void {
    clear(this.el);
    for (const slot of this.slots) this.visibility.unobserve(slot.el);
    this.slots.length = 0;
    this.cardLimit = CARD_PAGE;
    this.lastGeneration = null;
    this.more.classList.add('hidden');
    this.say('Loading…');
  }

  /** Take the cards off the screen (the run has no generation to show). */
  clearCards(): void {
    clear(this.el);
  }

  say(text: string): void {
    this.empty.textContent = text;
    this.empty.classList.remove('hidden');
  }

  /** The line shown while the run has no generation yet (hidden once it has one). */
  renderEmpty(): void {
    const { latest, job, run } = this.state;
    const waiting = !!job || !!run?.live;
    this.empty.textContent =
      latest >= 0
        ? ''
        : waiting
          ? 'Simulating generation 0…'
          : 'No generations yet. Press “Next generation” to evaluate generation 0.';
    this.empty.classList.toggle('hidden', latest >= 0);
  }

  render(detail: GenerationDetail): void {
    const previous = this.lastGeneration;
    const adjacent = !!previous && Math.abs(previous.stats.generation - detail.stats.generation) === 1;
    const before = adjacent && detail.creatures.length <= CARD_PAGE ? this.places() : null;
    this.lastGeneration = detail;
    const all = [...detail.creatures].sort((a, b) => a.rank - b.rank);
    // the real elites (they survive unchanged), not the original's "top 10 %" that disagreed with them
    const topN = this.state.run?.config.elite_count ?? Math.max(1, Math.round(all.length * 0.1));
    const cards = all.slice(0, this.cardLimit);
    const rest = all.length - cards.length;
    this.more.textContent = `Show ${Math.min(rest, CARD_PAGE * 5)} more of ${rest} remaining creatures`;
    this.more.classList.toggle('hidden', rest <= 0);
    while (this.slots.length < cards.length) this.slots.push(this.makeSlot());
    let moved = false;
    cards.forEach((card, i) => {
      const slot = this.slots[i];
      const changed = slot.card?.id !== card.id || slot.card?.pose !== card.pose;
      moved ||= slot.card !== null && slot.card.id !== card.id;
      slot.card = card;
      slot.el.dataset.creatureId = card.id;
      slot.el.dataset.rank = String(card.rank);
      slot.el.classList.toggle('elite', card.rank <= topN && !card.disqualified);
      slot.el.classList.toggle('dq', !!card.disqualified);
      // offspring bred for this generation, as the original marked its new cards
      slot.el.classList.toggle('newborn', card.born === detail.stats.generation && card.born > 0);
      slot.name.textContent = card.name;
      slot.fitness.textContent = Number.isFinite(card.fitness) ? String(Math.round(card.fitness)) : '—';
      if (card.fitness_std !== null && Number.isFinite(card.fitness) && Number.isFinite(card.fitness_std)) {
        slot.fitness.append(h('span', { class: 'card-spread' }, ` ±${Math.round(card.fitness_std)}`));
      }
      if (changed) {
        slot.dirty = true;
        if (slot.onScreen) this.draw(slot);
      }
    });
    if (moved) hideTooltip(); // the card under the pointer now shows another creature
    const els = this.slots.slice(0, cards.length).map((s) => s.el);
    if (this.el.children.length !== els.length || els.some((e, i) => this.el.children[i] !== e)) {
      clear(this.el);
      this.el.append(...els);
    }
    if (before) this.animate(before, cards.length);
  }

  private draw(slot: Slot): void {
    if (!slot.card) return;
    slot.dirty = false;
    requestThumbnail(slot.canvas, bodyFromCard(slot.card, this.state.stiffnessRange()), slot.card.pose);
  }

  private makeSlot(): Slot {
    const canvas = h('canvas', { width: THUMB_SIZE, height: THUMB_SIZE, class: 'thumb' });
    const name = h('span', { class: 'card-name', testid: 'card-name' });
    const fitness = h('span', { class: 'card-fitness', testid: 'card-fitness' });
    const cardEl = h('div', { class: 'creature-card', testid: 'creature-card', tabindex: 0 }, canvas, name, fitness);
    const slot: Slot = { el: cardEl, canvas, name, fitness, card: null, dirty: false, onScreen: false };
    this.slotOf.set(cardEl, slot);
    this.visibility.observe(cardEl);
    cardEl.addEventListener('click', () => slot.card && this.open(slot.card, this.state.shownGen));
    cardEl.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && slot.card) this.open(slot.card, this.state.shownGen);
    });
    cardEl.addEventListener('mouseenter', (ev) => slot.card && showTooltip(cardTooltip(slot.card), ev));
    cardEl.addEventListener('mousemove', moveTooltip);
    cardEl.addEventListener('mouseleave', hideTooltip);
    return slot;
  }

  /** Where each shown creature's card is, by creature id (for animating the next generation). */
  private places(): Map<string, DOMRect> {
    const places = new Map<string, DOMRect>();
    for (const slot of this.slots) {
      if (slot.card && slot.el.isConnected) places.set(slot.card.id, slot.el.getBoundingClientRect());
    }
    return places;
  }

  /** Survivors glide from their old place to their new rank, newcomers fade in (the original's
   * kill / breed / sort animations, condensed into one calm step). */
  private animate(before: Map<string, DOMRect>, count: number): void {
    if (window.matchMedia('(prefers-reduced-motion: reduce)').matches) return;
    for (const slot of this.slots.slice(0, count)) {
      if (!slot.card) continue;
      const old = before.get(slot.card.id);
      const now = slot.el.getBoundingClientRect();
      const frames: Keyframe[] = old
        ? [{ transform: `translate(${old.left - now.left}px, ${old.top - now.top}px)` }, { transform: 'none' }]
        : [{ opacity: 0, transform: 'scale(0.85)' }, { opacity: 1, transform: 'none' }];
      if (old && old.left === now.left && old.top === now.top) continue;
      slot.el.animate(frames, { duration: old ? 450 : 300, easing: 'ease-out' });
    }
  }
}
