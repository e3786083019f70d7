/** A creature's drawable body (from a grid card or a genome) and the colour rules of reference §7.10. */
import type { CreatureCard, Genome, Hsl, Vec3 } from '../types';

export interface Body {
  sizes: number[];
  frictions: number[];
  /** Node index pairs. */
  muscles: [number, number][];
  stiffness: number[];
  /** Effective Hz (gene frequency x global multiplier). */
  frequency: number[];
  /** Stiffness range used to normalise muscle thickness. */
  stiffnessRange: [number, number];
}

export const DEFAULT_STIFFNESS_RANGE: [number, number] = [50, 500];

export function bodyFromCard(card: CreatureCard, stiffnessRange = DEFAULT_STIFFNESS_RANGE): Body {
  return {
    sizes: card.node_sizes,
    frictions: card.node_frictions,
    muscles: card.muscles,
    stiffness: card.muscle_stiffness,
    frequency: card.muscle_frequency,
    stiffnessRange,
  };
}

export function bodyFromGenome(genome: Genome, stiffnessRange = DEFAULT_STIFFNESS_RANGE): Body {
  const index = new Map(genome.nodes.map((n, i) => [n.id, i]));
  const muscles = genome.muscles.filter((m) => index.has(m.nodeA) && index.has(m.nodeB));
  return {
    sizes: genome.nodes.map((n) => n.size),
    frictions: genome.nodes.map((n) => n.friction),
    muscles: muscles.map((m) => [index.get(m.nodeA)!, index.get(m.nodeB)!]),
    stiffness: muscles.map((m) => m.stiffness),
    frequency: muscles.map((m) => m.frequency * genome.globalFrequencyMultiplier),
    stiffnessRange,
  };
}

export function genomePose(genome: Genome): Vec3[] {
  return genome.nodes.map((n) => [n.position.x, n.position.y, n.position.z]);
}

const lerp = (a: number, b: number, t: number): number => a + (b - a) * t;
const clamp01 = (t: number): number => Math.min(1, Math.max(0, t));

export interface NodeLook {
  color: Hsl;
  roughness: number;
  metalness: number;
}

/** Cyan (slippery) to orange (grippy): fn = (friction - 0.3) / 0.6. */
export function nodeLook(friction: number): NodeLook {
  const t = clamp01((friction - 0.3) / 0.6);
  return {
    color: { h: lerp(0.5, 0.08, t), s: lerp(0.9, 0.7, t), l: lerp(0.6, 0.35, t) },
    roughness: lerp(0.2, 0.8, t),
    metalness: lerp(0.4, 0.1, t),
  };
}

/** Blue (slowest muscle of the creature) to red (fastest); 0.5 when all are equal. */
export function muscleColors(body: Body): Hsl[] {
  const lo = Math.min(...body.frequency);
  const hi = Math.max(...body.frequency);
  return body.frequency.map((f) => {
    const t = hi > lo ? (f - lo) / (hi - lo) : 0.5;
    return { h: lerp(0.6, 0.0, t), s: 0.9, l: 0.5 };
  });
}

export function muscleRadius(body: Body, j: number): number {
  const [lo, hi] = body.stiffnessRange;
  const t = hi > lo ? clamp01((body.stiffness[j] - lo) / (hi - lo)) : 0.5;
  return 0.03 + 0.09 * t;
}

/** Neural activation heatmap of reference §7.7; null means "use the base colour". */
export function heatColor(a: number): Hsl | null {
  const m = Math.abs(a);
  if (m <= 0.1) return null;
  const h = a > 0 ? lerp(0.33, 0.5, m) : lerp(0.08, 0, m);
  return { h, s: 0.9, l: 0.4 + 0.2 * m };
}

export function hslToCss(c: Hsl, alpha = 1): string {
  return `hsla(${(c.h * 360).toFixed(1)}, ${(c.s * 100).toFixed(1)}%, ${(c.l * 100).toFixed(1)}%, ${alpha})`;
}

/** Mass-weighted centre of mass as the kernel computes it (mass grows with radius cubed). */
export function centerOfMass(pose: Vec3[], sizes: number[]): Vec3 {
  let x = 0;
  let y = 0;
  let z = 0;
  let total = 0;
  for (let i = 0; i < pose.length; i++) {
    const r = (sizes[i] ?? 0.5) / 2;
    const m = r * r * r;
    x += m * pose[i][0];
    y += m * pose[i][1];
    z += m * pose[i][2];
    total += m;
  }
  return total > 0 ? [x / total, y / total, z / total] : [0, 0, 0];
}
