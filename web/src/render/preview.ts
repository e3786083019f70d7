/**
 * The menu's animated creature: a random body at the menu's maximum complexity, moved kinematically
 * (reference §7.2: nodes sway along their muscles, heavy gravity makes tall bodies sag), never simulated.
 */
import {
  AmbientLight,
  Color,
  DirectionalLight,
  GridHelper,
  Mesh,
  MeshStandardMaterial,
  PerspectiveCamera,
  Scene,
  SphereGeometry,
  WebGLRenderer,
} from 'three';
import type { Vec3 } from '../types';
import type { Body } from './body';
import { CreatureMesh } from './creatureMesh';
import { type Camera2D, drawBody2D, drawGround, projector } from './fallback2d';
import { markWebglBroken, webglAvailable } from './webgl';

interface PreviewCreature {
  body: Body;
  rest: Vec3[];
  freq: number[];
  amp: number[];
  phase: number[];
}

export interface PreviewParams {
  maxNodes: number;
  maxMuscles: number;
  maxFrequency: number;
  gravity: number;
}

const W = 400;
const H = 300;
const PELLETS: Vec3[] = [
  [2.6, 0.25, -1.2],
  [-2.2, 0.25, 1.8],
  [0.8, 0.25, 2.8],
];

function rand(lo: number, hi: number): number {
  return lo + Math.random() * (hi - lo);
}

function randomCreature(p: PreviewParams): PreviewCreature {
  const n = Math.max(2, Math.min(p.maxNodes, p.maxMuscles + 1));
  const rest: Vec3[] = [];
  const sizes: number[] = [];
  const frictions: number[] = [];
  for (let i = 0; i < n; i++) {
    const size = rand(0.25, 0.7);
    sizes.push(size);
    frictions.push(rand(0.3, 0.9));
    rest.push([rand(-1.4, 1.4), Math.max(size / 2, rand(0.3, 1.8)), rand(-1.4, 1.4)]);
  }
  const muscles: [number, number][] = [];
  const has = new Set<string>();
  const add = (a: number, b: number): void => {
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (a === b || has.has(key)) return;
    has.add(key);
    muscles.push([a, b]);
  };
  for (let i = 1; i < n; i++) add(i, Math.floor(Math.random() * i));
  const maxPairs = (n * (n - 1)) / 2;
  const target = Math.min(p.maxMuscles, maxPairs, n - 1 + Math.floor(rand(0, n)));
  for (let tries = 0; muscles.length < target && tries < 500; tries++) {
    add(Math.floor(Math.random() * n), Math.floor(Math.random() * n));
  }
  const m = muscles.length;
  const mult = rand(0.6, 1.0);
  const freq = muscles.map(() => rand(0.5, Math.max(0.6, p.maxFrequency)) * mult);
  return {
    body: {
      sizes,
      frictions,
      muscles,
      stiffness: muscles.map(() => rand(50, 500)),
      frequency: freq,
      stiffnessRange: [50, 500],
    },
    rest,
    freq,
    amp: new Array(m).fill(0).map(() => rand(0.1, 0.4)),
    phase: new Array(m).fill(0).map(() => rand(0, Math.PI * 2)),
  };
}

function poseAt(c: PreviewCreature, tau: number, gravity: number): Vec3[] {
  const pose = c.rest.map((p) => [...p] as Vec3);
  c.body.muscles.forEach(([a, b], j) => {
    const d = [c.rest[b][0] - c.rest[a][0], c.rest[b][1] - c.rest[a][1], c.rest[b][2] - c.rest[a][2]];
    const len = Math.hypot(d[0], d[1], d[2]) || 1;
    const s = Math.sin(2 * Math.PI * c.freq[j] * tau + c.phase[j]) * c.amp[j] * 0.3;
    for (let k = 0; k < 3; k++) {
      pose[a][k] += (d[k] / len) * s;
      pose[b][k] -= (d[k] / len) * s;
    }
  });
  const sag = Math.max(0, (Math.abs(gravity) - 9.8) / 20) * 0.5;
  pose.forEach((p, i) => {
    p[1] -= sag * Math.max(0, p[1] - 0.5);
    p[1] = Math.max(p[1], c.body.sizes[i] / 2);
  });
  return pose;
}

export class MenuPreview {
  canvas: HTMLCanvasElement;
  private creature: PreviewCreature;
  private params: PreviewParams;
  private renderer: WebGLRenderer | null = null;
  private scene: Scene | null = null;
  private camera: PerspectiveCamera | null = null;
  private mesh: CreatureMesh | null = null;
  private ctx2d: CanvasRenderingContext2D | null = null;
  private raf = 0;
  private tau = 0;

  constructor(params: PreviewParams) {
    this.params = params;
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'preview-canvas';
    this.canvas.dataset.testid = 'menu-preview';
    this.canvas.width = W;
    this.canvas.height = H;
    this.creature = randomCreature(params);
    this.init();
  }

  private init(): void {
    if (webglAvailable()) {
      try {
        this.renderer = new WebGLRenderer({ canvas: this.canvas, antialias: true, alpha: true });
        this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
        this.renderer.setSize(W, H, false);
        this.scene = new Scene();
        this.scene.add(new AmbientLight(0xffffff, 0.55 * Math.PI));
        const sun = new DirectionalLight(0xffffff, 0.8 * Math.PI);
        sun.position.set(5, 10, 5);
        this.scene.add(sun);
        const grid = new GridHelper(12, 12, 0x3a3a52, 0x262636);
        this.scene.add(grid);
        const pelletGeo = new SphereGeometry(0.25, 16, 12);
        const pelletMat = new MeshStandardMaterial({ color: new Color('#10b981'), emissive: new Color('#10b981'), emissiveIntensity: 0.4 });
        for (const p of PELLETS) {
          const m = new Mesh(pelletGeo, pelletMat);
          m.position.set(...p);
          this.scene.add(m);
        }
        this.camera = new PerspectiveCamera(45, W / H, 0.1, 100);
        this.rebuildMesh();
        return;
      } catch (err) {
        console.warn('menu preview: WebGL unavailable, using 2D', err);
        markWebglBroken();
        this.renderer = null;
        const fresh = document.createElement('canvas');
        fresh.className = this.canvas.className;
        fresh.dataset.testid = 'menu-preview';
        this.canvas = fresh;
      }
    }
    const dpr = Math.min(window.devicePixelRatio || 1, 2);
    this.canvas.width = W * dpr;
    this.canvas.height = H * dpr;
    this.ctx2d = this.canvas.getContext('2d');
  }

  private rebuildMesh(): void {
    if (!this.scene) return;
    if (this.mesh) {
      this.scene.remove(this.mesh.group);
      this.mesh.dispose();
    }
    this.mesh = new CreatureMesh(this.creature.body);
    this.scene.add(this.mesh.group);
  }

  /** New settings; a new creature only when the body limits change or `regenerate` is asked. */
  update(params: PreviewParams, regenerate = false): void {
    const bodyChanged = params.maxNodes !== this.params.maxNodes || params.maxMuscles !== this.params.maxMuscles;
    this.params = params;
    if (bodyChanged || regenerate) {
      this.creature = randomCreature(params);
      this.rebuildMesh();
    }
  }

  start(): void {
    if (this.raf) return;
    const loop = (): void => {
      this.raf = requestAnimationFrame(loop);
      this.frame();
    };
    this.raf = requestAnimationFrame(loop);
  }

  stop(): void {
    cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  private frame(): void {
    this.tau += 0.016;
    const pose = poseAt(this.creature, this.tau, this.params.gravity);
    const angle = this.tau * 0.25;
    const eye: Vec3 = [Math.sin(angle) * 6.5, 3.6, Math.cos(angle) * 6.5];
    if (this.renderer && this.scene && this.camera && this.mesh) {
      this.mesh.setPose(pose);
      this.camera.position.set(...eye);
      this.camera.lookAt(0, 0.7, 0);
      this.renderer.render(this.scene, this.camera);
    } else if (this.ctx2d) {
      const ctx = this.ctx2d;
      const dpr = this.canvas.width / W;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, W, H);
      const cam: Camera2D = { eye, target: [0, 0.7, 0], fovDeg: 45 };
      drawGround(ctx, cam, W, H, 6);
      const proj = projector(cam, W, H);
      ctx.fillStyle = '#10b981';
      for (const p of PELLETS) {
        const s = proj(p);
        ctx.beginPath();
        ctx.arc(s[0], s[1], Math.max(2, 0.25 * s[3]), 0, Math.PI * 2);
        ctx.fill();
      }
      drawBody2D(ctx, cam, W, H, this.creature.body, pose);
    }
  }
}
