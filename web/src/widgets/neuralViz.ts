/** 2D-canvas drawing of the network's live activations (reference §7.7 visualiser). */
import { h } from '../dom';
import { type Activations, INPUT_NAMES } from '../neural';

export class NeuralViz {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D | null;
  private readonly w = 300;
  private readonly hgt = 200;

  constructor(private readonly outputNames: string[]) {
    this.canvas = h('canvas', { class: 'neural-canvas', testid: 'neural-canvas' });
    const dpr = window.devicePixelRatio || 1;
    this.canvas.width = this.w * dpr;
    this.canvas.height = this.hgt * dpr;
    this.canvas.style.width = `${this.w}px`;
    this.canvas.style.height = `${this.hgt}px`;
    this.ctx = this.canvas.getContext('2d');
    this.ctx?.scale(dpr, dpr);
  }

  draw(act: Activations | null): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const { w, hgt } = this;
    ctx.clearRect(0, 0, w, hgt);
    if (!act) {
      ctx.fillStyle = '#7a8494';
      ctx.font = '12px system-ui, sans-serif';
      ctx.textAlign = 'center';
      ctx.fillText('No neural network', w / 2, hgt / 2);
      return;
    }
    const cols = [act.inputs, act.hidden, act.outputs];
    const xs = [20 + 50, w / 2, w - 70];
    const ys = cols.map((c) => {
      const spacing = (hgt - 40) / (c.length + 1);
      return c.map((_, i) => 20 + spacing * (i + 1));
    });
    for (let layer = 0; layer < 2; layer++) {
      const from = cols[layer];
      const to = cols[layer + 1];
      from.forEach((ai, i) => {
        to.forEach((aj, j) => {
          const a = Math.min(1, Math.abs(ai * aj));
          ctx.strokeStyle = `hsla(${a > 0.5 ? 120 : 200}, 70%, 55%, ${Math.min(0.8, 0.1 + 0.7 * a)})`;
          ctx.lineWidth = 0.5 + 1.5 * a;
          ctx.beginPath();
          ctx.moveTo(xs[layer], ys[layer][i]);
          ctx.lineTo(xs[layer + 1], ys[layer + 1][j]);
          ctx.stroke();
        });
      });
    }
    ctx.font = '10px ui-monospace, SFMono-Regular, Menlo, monospace';
    cols.forEach((c, layer) => {
      c.forEach((a, i) => {
        const v = Math.max(-1, Math.min(1, a));
        ctx.fillStyle = `hsl(${((v + 1) / 2) * 120}, 70%, ${30 + 30 * Math.abs(v)}%)`;
        ctx.beginPath();
        ctx.arc(xs[layer], ys[layer][i], 6, 0, Math.PI * 2);
        ctx.fill();
        ctx.strokeStyle = 'rgba(255,255,255,0.25)';
        ctx.lineWidth = 1;
        ctx.stroke();
        ctx.fillStyle = '#b8c0cc';
        if (layer === 0) {
          ctx.textAlign = 'right';
          ctx.fillText(INPUT_NAMES[i] ?? `in${i}`, xs[0] - 10, ys[0][i] + 3);
        } else if (layer === 2) {
          ctx.textAlign = 'left';
          const name = this.outputNames[i] ?? `M${i}`;
          ctx.fillText(`${name.length <= 5 ? name : `M${i}`} ${a.toFixed(2)}`, xs[2] + 10, ys[2][i] + 3);
        }
      });
    });
  }
}
