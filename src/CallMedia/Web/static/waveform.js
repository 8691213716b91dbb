// The waveform of a whole call, drawn from the server's peaks (no audio is downloaded for it): one lane per
// direction, the played part darker, a cursor; click or drag to seek. The element is a keyboard slider too.

const PLAYED = '#1d4f91';
const UNPLAYED = '#8a9bb3';
const CURSOR = '#b3261e';
const LABEL = '#33404f';

export class Waveform {
  /** @param {HTMLElement} host  @param {(seconds:number)=>void} onSeek */
  constructor(host, onSeek) {
    this.host = host;
    this.onSeek = onSeek;
    this.canvas = document.createElement('canvas');
    this.canvas.setAttribute('aria-hidden', 'true');
    host.append(this.canvas);
    this.channels = [];
    this.peaksPerSecond = 50;
    this.duration = 0;
    this.time = 0;
    this.columns = null;
    this.dragging = false;

    const at = (event) => {
      const box = this.canvas.getBoundingClientRect();
      const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      return fraction * this.duration;
    };
    host.addEventListener('pointerdown', (event) => {
      if (!this.duration || event.button !== 0) return;
      this.dragging = true;
      host.setPointerCapture(event.pointerId);
      this.setTime(at(event));
    });
    host.addEventListener('pointermove', (event) => {
      if (this.dragging) this.setTime(at(event));
    });
    const end = (event) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.onSeek(at(event));
    };
    host.addEventListener('pointerup', end);
    host.addEventListener('pointercancel', () => { this.dragging = false; });
    this.resize = new ResizeObserver(() => { this.columns = null; this.draw(); });
    this.resize.observe(host);
  }

  setPeaks(peaks) {
    this.channels = peaks.channels || [];
    this.peaksPerSecond = peaks.peaksPerSecond || 50;
    if (!this.duration) this.duration = peaks.durationSeconds;
    this.host.classList.toggle('two-lanes', this.channels.length > 1);
    this.columns = null;
    this.draw();
  }

  setDuration(seconds) {
    if (Number.isFinite(seconds) && seconds > 0) {
      this.duration = seconds;
      this.draw();
    }
  }

  setTime(seconds) {
    this.time = seconds;
    this.draw();
  }

  destroy() {
    this.resize.disconnect();
  }

  /** The largest peak under each pixel column, per lane: computed once per width, so a two-hour call redraws cheaply. */
  bucket(width) {
    const columns = [];
    for (const lane of this.channels) {
      const out = new Float32Array(width);
      const perColumn = lane.length / width;
      for (let x = 0; x < width; x++) {
        const from = Math.floor(x * perColumn);
        const to = Math.max(from + 1, Math.floor((x + 1) * perColumn));
        let max = 0;
        for (let i = from; i < to && i < lane.length; i++) if (lane[i] > max) max = lane[i];
        out[x] = max;
      }
      columns.push(out);
    }
    return columns;
  }

  draw() {
    const ratio = window.devicePixelRatio || 1;
    const cssWidth = this.host.clientWidth;
    const cssHeight = this.host.clientHeight;
    if (!cssWidth || !cssHeight) return;
    const width = Math.round(cssWidth * ratio);
    const height = Math.round(cssHeight * ratio);
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.columns = null;
    }
    if (!this.columns) this.columns = this.bucket(width);
    const g = this.canvas.getContext('2d');
    g.clearRect(0, 0, width, height);
    const lanes = Math.max(1, this.columns.length);
    const laneHeight = height / lanes;
    // The peaks span their own duration; the media's may differ by a frame or two.
    const peaksDuration = this.channels.length ? this.channels[0].length / this.peaksPerSecond : this.duration;
    const span = Math.max(peaksDuration, this.duration) || 1;
    const playedX = Math.round((this.time / span) * width);
    const laneWidth = Math.round((peaksDuration / span) * width);
    this.columns.forEach((column, lane) => {
      const middle = laneHeight * lane + laneHeight / 2;
      const half = laneHeight / 2 - 2 * ratio;
      for (let x = 0; x < width; x++) {
        const source = Math.floor((x / width) * column.length * (width / Math.max(1, laneWidth)));
        if (source >= column.length) break;
        const h = Math.max(ratio * 0.5, column[source] * half);
        g.fillStyle = x < playedX ? PLAYED : UNPLAYED;
        g.fillRect(x, middle - h, 1, h * 2);
      }
      if (lanes > 1) {
        g.fillStyle = LABEL;
        g.font = `${11 * ratio}px system-ui, sans-serif`;
        g.fillText(lane === 0 ? 'Caller' : 'Callee', 4 * ratio, laneHeight * lane + 12 * ratio);
      }
    });
    g.fillStyle = CURSOR;
    g.fillRect(Math.min(width - 2 * ratio, playedX), 0, 2 * ratio, height);
  }
}
