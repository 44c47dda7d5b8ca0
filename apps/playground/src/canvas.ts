/** Drawing helpers: images, bar charts and a pad to draw digits on. */

/** A canvas of `width` x `height` pixels shown `scale` times larger, labelled for screen readers. */
export function imageCanvas(
  id: string,
  label: string,
  width = 28,
  height = 28,
  scale = 8,
): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.id = id;
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * scale}px`;
  canvas.style.height = `${height * scale}px`;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return canvas;
}

/** A white canvas for a chart of `width` x `height` pixels, labelled for screen readers. */
export function chartCanvas(
  id: string,
  label: string,
  width: number,
  height: number,
): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.id = id;
  canvas.className = 'chart';
  canvas.width = width;
  canvas.height = height;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return canvas;
}

/** A canvas shown only once drawn on: a line of text holds its place until then. */
export interface PendingCanvas {
  /** The canvas and its placeholder, to add to the page. */
  readonly element: HTMLElement;
  /** Shows the canvas instead of the placeholder (call once it is drawn). */
  reveal(): void;
  /** Hides the canvas again behind the placeholder, saying `text` (default: as before). */
  reset(text?: string): void;
}

/**
 * Hides `canvas` behind `text` in a box of the canvas's size until {@link PendingCanvas.reveal}
 * is called, so that no empty canvas shows before there is something to draw. The text has
 * the id `<canvas id>-placeholder`.
 */
export function pendingCanvas(canvas: HTMLCanvasElement, text: string): PendingCanvas {
  const element = document.createElement('div');
  element.className = 'pending-canvas';
  const placeholder = document.createElement('p');
  placeholder.className = 'placeholder';
  placeholder.id = `${canvas.id}-placeholder`;
  placeholder.style.width = canvas.style.width || `${canvas.width}px`;
  placeholder.style.minHeight = canvas.style.height || `${canvas.height}px`;
  let first = text;
  placeholder.textContent = text;
  canvas.hidden = true;
  element.append(placeholder, canvas);
  return {
    element,
    reveal: () => {
      canvas.hidden = false;
      placeholder.hidden = true;
    },
    reset: (again = first) => {
      first = again;
      placeholder.textContent = again;
      canvas.hidden = true;
      placeholder.hidden = false;
    },
  };
}

/** Draws grey images (values in [0, 1]) side by side, `cols` per row, into `canvas`. */
export function drawImages(
  canvas: HTMLCanvasElement,
  images: readonly Float32Array[],
  cols = images.length,
  side = 28,
): void {
  const rows = Math.ceil(images.length / cols);
  canvas.width = cols * side;
  canvas.height = rows * side;
  const ctx = canvas.getContext('2d')!;
  const out = ctx.createImageData(canvas.width, canvas.height);
  images.forEach((img, k) => {
    const ox = (k % cols) * side;
    const oy = Math.floor(k / cols) * side;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const v = Math.round(255 * Math.min(1, Math.max(0, img[y * side + x] ?? 0)));
        const at = ((oy + y) * canvas.width + ox + x) * 4;
        out.data[at] = v;
        out.data[at + 1] = v;
        out.data[at + 2] = v;
        out.data[at + 3] = 255;
      }
    }
  });
  ctx.putImageData(out, 0, 0);
}

/** Draws `values` as vertical bars (negative ones below the axis), labelled with the count. */
export function drawBars(
  canvas: HTMLCanvasElement,
  values: ArrayLike<number>,
  highlight?: (v: number) => boolean,
): void {
  const ctx = canvas.getContext('2d')!;
  const { width, height } = canvas;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  let max = 1e-6;
  for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]!));
  const hasNegative = Array.from(values).some((v) => v < 0);
  const axis = hasNegative ? height / 2 : height - 1;
  const w = width / values.length;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const h = (Math.abs(v) / max) * (hasNegative ? height / 2 - 2 : height - 2);
    ctx.fillStyle = highlight?.(v) ? '#d62728' : '#4c78a8';
    ctx.fillRect(i * w, v >= 0 ? axis - h : axis, Math.max(1, w - 1), h);
  }
}

/**
 * A 280x280 pad to draw a digit on with a mouse, pen or finger; `onChange` gets the drawing
 * as 28x28 values in [0, 1] (each the mean of its 10x10 block), at most once a frame.
 */
export class DrawingPad {
  readonly canvas: HTMLCanvasElement;
  #ctx: CanvasRenderingContext2D;
  #drawing = false;
  #last: [number, number] | undefined;
  #pending = false;

  constructor(private readonly onChange: (pixels: Float32Array) => void) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = 'pad';
    this.canvas.width = 280;
    this.canvas.height = 280;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      'Drawing pad: draw a digit with the mouse, or pick a test image',
    );
    this.#ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear(false);
    this.canvas.addEventListener('pointerdown', (e) => {
      this.#drawing = true;
      this.#last = this.#at(e);
      this.canvas.setPointerCapture(e.pointerId);
      this.#stroke(this.#last);
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (this.#drawing) this.#stroke(this.#at(e));
    });
    const end = () => {
      this.#drawing = false;
      this.#last = undefined;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  #at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * 280, ((e.clientY - r.top) / r.height) * 280];
  }

  #stroke(to: [number, number]): void {
    const ctx = this.#ctx;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 22;
    ctx.lineCap = 'round';
    ctx.beginPath();
    const from = this.#last ?? to;
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    this.#last = to;
    this.#changed();
  }

  #changed(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      this.onChange(this.pixels());
    });
  }

  /** The drawing as 28x28 values in [0, 1]. */
  pixels(): Float32Array {
    const { data } = this.#ctx.getImageData(0, 0, 280, 280);
    const out = new Float32Array(784);
    for (let y = 0; y < 280; y++) {
      for (let x = 0; x < 280; x++)
        out[Math.floor(y / 10) * 28 + Math.floor(x / 10)]! += data[(y * 280 + x) * 4]! / 255 / 100;
    }
    return out;
  }

  /** Shows a 28x28 image (values in [0, 1]) on the pad, scaled up. */
  show(image: Float32Array): void {
    const small = document.createElement('canvas');
    drawImages(small, [image]);
    this.#ctx.imageSmoothingEnabled = false;
    this.#ctx.drawImage(small, 0, 0, 280, 280);
    this.#changed();
  }

  clear(notify = true): void {
    this.#ctx.fillStyle = '#000';
    this.#ctx.fillRect(0, 0, 280, 280);
    if (notify) this.#changed();
  }
}
