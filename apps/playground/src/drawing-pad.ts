import { drawImages } from './canvas.js';
import { blockMean, strokesToMnist } from './preprocess.js';
import { DRAW_EVENT } from './ui.js';

/**
 * A short stamp of an image (the sum of its values, to 6 decimals): a view that draws the
 * model's output of `pixels` can put it beside that output, so that scripts can tell which
 * input an output belongs to (#model-input carries the stamp of the pad's latest image).
 */
export function pixelSum(pixels: ArrayLike<number>): string {
  let sum = 0;
  for (let i = 0; i < pixels.length; i++) sum += pixels[i]!;
  return sum.toFixed(6);
}

/** The pad's side in canvas pixels (ten per image pixel). */
const PAD = 280;

/**
 * A 280x280 pad to draw a digit on with a mouse, pen or finger, beside a 28x28 preview of what
 * the model gets. `onChange` gets that image (784 values in [0, 1]) at most once a frame.
 *
 * A drawing is made into an MNIST digit first ({@link strokesToMnist}: scaled into a 20x20
 * box, centre of mass in the middle), unless the visitor unticks "Centre and scale as MNIST";
 * then each image pixel is the mean of its 10x10 block of the pad. A test image shown on the
 * pad is passed on as it is (it is an MNIST digit already); drawing after it starts afresh.
 */
export class DrawingPad {
  /** The pad, the preview and the preprocessing switch, to add to the page. */
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly #preview: HTMLCanvasElement;
  readonly #mnistStyle: HTMLInputElement;
  readonly #ctx: CanvasRenderingContext2D;
  #strokes: [number, number][][] = [];
  /** The test image shown, while no stroke has been drawn over it. */
  #image: Float32Array | undefined;
  #drawing = false;
  #pending = false;

  constructor(private readonly onChange: (pixels: Float32Array) => void) {
    this.canvas = document.createElement('canvas');
    this.canvas.id = 'pad';
    this.canvas.width = PAD;
    this.canvas.height = PAD;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute(
      'aria-label',
      'Drawing pad: draw a digit with the mouse, or pick a test image',
    );
    this.#ctx = this.canvas.getContext('2d', { willReadFrequently: true })!;

    this.#preview = document.createElement('canvas');
    this.#preview.id = 'model-input';
    this.#preview.width = 28;
    this.#preview.height = 28;
    this.#preview.setAttribute('role', 'img');
    this.#preview.setAttribute('aria-label', 'The 28x28 image the model gets');
    this.#mnistStyle = document.createElement('input');
    this.#mnistStyle.type = 'checkbox';
    this.#mnistStyle.id = 'mnist-style';
    this.#mnistStyle.checked = true;
    this.#mnistStyle.addEventListener('change', () => this.#changed());
    const toggle = document.createElement('label');
    toggle.className = 'toggle';
    toggle.title =
      'MNIST digits were scaled to fit a 20x20 box and centred by their centre of mass; drawings are too, unless this is off';
    toggle.append(this.#mnistStyle, ' Centre and scale as MNIST');
    const figure = document.createElement('figure');
    figure.className = 'model-input';
    const caption = document.createElement('figcaption');
    caption.textContent = 'What the model gets (28x28)';
    figure.append(this.#preview, caption, toggle);
    this.element = document.createElement('div');
    this.element.className = 'drawing-pad';
    this.element.append(this.canvas, figure);

    this.clear(false);
    this.canvas.addEventListener('pointerdown', (e) => {
      if (this.#image) this.clear(false);
      this.element.dispatchEvent(new Event(DRAW_EVENT));
      this.#drawing = true;
      this.canvas.setPointerCapture(e.pointerId);
      this.#strokes.push([]);
      this.#stroke(this.#at(e));
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (this.#drawing) this.#stroke(this.#at(e));
    });
    const end = () => {
      this.#drawing = false;
    };
    this.canvas.addEventListener('pointerup', end);
    this.canvas.addEventListener('pointercancel', end);
  }

  #at(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) / r.width) * PAD, ((e.clientY - r.top) / r.height) * PAD];
  }

  #stroke(to: [number, number]): void {
    const points = this.#strokes.at(-1)!;
    const from = points.at(-1) ?? to;
    points.push(to);
    const ctx = this.#ctx;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 22;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from[0], from[1]);
    ctx.lineTo(to[0], to[1]);
    ctx.stroke();
    this.#changed();
  }

  #changed(): void {
    if (this.#pending) return;
    this.#pending = true;
    requestAnimationFrame(() => {
      this.#pending = false;
      const pixels = this.pixels();
      drawImages(this.#preview, [pixels]);
      this.#preview.dataset.ready = 'true';
      this.#preview.dataset.sum = pixelSum(pixels);
      this.onChange(pixels);
    });
  }

  /** What the model gets: 28x28 values in [0, 1]. */
  pixels(): Float32Array {
    if (this.#image) return this.#image.slice();
    if (this.#mnistStyle.checked) return strokesToMnist(this.#strokes);
    const { data } = this.#ctx.getImageData(0, 0, PAD, PAD);
    return blockMean(
      Float32Array.from({ length: PAD * PAD }, (_, i) => data[i * 4]! / 255),
      PAD,
    );
  }

  /** Shows a 28x28 image (values in [0, 1]) on the pad, scaled up; the model gets it as it is. */
  show(image: Float32Array): void {
    this.#strokes = [];
    this.#image = image.slice();
    const small = document.createElement('canvas');
    drawImages(small, [image]);
    this.#ctx.imageSmoothingEnabled = false;
    this.#ctx.drawImage(small, 0, 0, PAD, PAD);
    this.#changed();
  }

  clear(notify = true): void {
    this.#strokes = [];
    this.#image = undefined;
    this.#ctx.fillStyle = '#000';
    this.#ctx.fillRect(0, 0, PAD, PAD);
    if (notify) this.#changed();
  }
}
