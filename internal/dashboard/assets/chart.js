// A small line chart on a <canvas>: one line per model over a fixed window
// of time, redrawn whole (a few hundred points cost nothing to draw).

export const palette = ["#5aa9ff", "#3ecf8e", "#f5b83d", "#ff6b6b", "#9b8cff", "#4dd0e1", "#f48fb1", "#aed581"];

export class LineChart {
  constructor(canvas, { windowSeconds = 600 } = {}) {
    this.canvas = canvas;
    this.windowSeconds = windowSeconds;
  }

  // draw takes series [{name, color, points: [[t, value|null], ...]}] and
  // the time at the right edge (unix seconds).
  draw(series, now) {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 140;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);

    const style = getComputedStyle(document.documentElement);
    const grid = style.getPropertyValue("--line").trim() || "#333";
    const muted = style.getPropertyValue("--muted").trim() || "#888";
    const left = 40, right = 6, top = 8, bottom = 18;
    const plotW = width - left - right, plotH = height - top - bottom;
    const start = now - this.windowSeconds;

    let maxValue = 0;
    for (const s of series) for (const [t, v] of s.points) if (t >= start && v != null && v > maxValue) maxValue = v;
    const yMax = niceCeiling(maxValue);

    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = muted;
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (let i = 0; i <= 2; i++) {
      const y = top + plotH - (plotH * i) / 2;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(width - right, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(formatTick((yMax * i) / 2), left - 6, y);
    }
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    const minutes = this.windowSeconds / 60;
    const step = minutes <= 1 ? 0.25 : Math.max(1, Math.round(minutes / 5));
    for (let m = 0; m <= minutes + 1e-9; m += step) {
      const x = left + plotW - (plotW * m * 60) / this.windowSeconds;
      ctx.textAlign = m === 0 ? "right" : "center";
      ctx.fillText(m === 0 ? "now" : m < 1 ? `-${Math.round(m * 60)}s` : `-${m}m`, x, height - bottom + 4);
    }

    const xOf = (t) => left + ((t - start) / this.windowSeconds) * plotW;
    const yOf = (v) => top + plotH - (v / yMax) * plotH;
    ctx.lineWidth = 1.6;
    ctx.lineJoin = "round";
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.beginPath();
      const pts = s.points;
      let drawing = false;
      for (let i = 0; i < pts.length; i++) {
        const [t, v] = pts[i];
        if (t < start || v == null) { drawing = false; continue; }
        const x = xOf(t), y = yOf(v);
        if (drawing) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        // A figure with no neighbour (a time to first byte in a quiet
        // second) is a dot, or it would not show at all.
        const next = pts[i + 1];
        if (!drawing && (!next || next[1] == null)) ctx.fillRect(x - 1.5, y - 1.5, 3, 3);
        drawing = true;
      }
      ctx.stroke();
    }
    if (maxValue === 0) {
      ctx.fillStyle = muted;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      ctx.fillText("no traffic", left + plotW / 2, top + plotH / 2);
    }
  }
}

function niceCeiling(v) {
  if (!(v > 0)) return 1;
  const exp = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * exp) return m * exp;
  return 10 * exp;
}

function formatTick(v) {
  if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k";
  if (v >= 10 || v === 0) return String(Math.round(v));
  return v.toFixed(1);
}
