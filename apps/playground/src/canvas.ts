/** Drawing helpers: grey images on canvases, and placeholders until they are drawn. */

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
  // Only the width: the height follows the canvas's aspect ratio, also when a narrow screen
  // scales it down (style.css gives canvases max-width: 100% and height: auto).
  canvas.style.width = `${width * scale}px`;
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
  placeholder.style.aspectRatio = `${canvas.width} / ${canvas.height}`;
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
