/** Modal shell: backdrop click, × and Escape close it; only the top-most modal reacts to Escape. */
import { h } from '../dom';

const stack: (() => void)[] = [];

document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && stack.length) {
    ev.preventDefault();
    stack[stack.length - 1]();
  }
});

export function anyModalOpen(): boolean {
  return stack.length > 0;
}

export interface ModalHandle {
  root: HTMLElement;
  body: HTMLElement;
  header: HTMLElement;
  close: () => void;
}

export function openModal(opts: {
  title: string;
  testid: string;
  className?: string;
  closeTestid?: string;
  onClose?: () => void;
}): ModalHandle {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    const i = stack.indexOf(close);
    if (i >= 0) stack.splice(i, 1);
    backdrop.remove();
    opts.onClose?.();
  };
  const header = h(
    'div',
    { class: 'modal-head' },
    h('h2', null, opts.title),
    h('span', { class: 'spacer' }),
    h(
      'button',
      { class: 'icon-btn', testid: opts.closeTestid ?? `${opts.testid}-close`, title: 'Close (Esc)', onclick: close },
      '×',
    ),
  );
  const body = h('div', { class: 'modal-body' });
  const root = h('div', { class: `modal ${opts.className ?? ''}`, testid: opts.testid, role: 'dialog' }, header, body);
  const backdrop = h('div', { class: 'modal-backdrop', testid: `${opts.testid}-backdrop` }, root);
  backdrop.addEventListener('mousedown', (ev) => {
    if (ev.target === backdrop) close();
  });
  document.body.append(backdrop);
  stack.push(close);
  return { root, body, header, close };
}
