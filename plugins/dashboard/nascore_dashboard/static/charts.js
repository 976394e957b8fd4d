// Small hand-written charts: canvas plots (fast with 10,000 points), parallel coordinates, a layered graph in SVG.
(function () {
"use strict";
const PALETTE = ["#2f6fdf", "#c8372d", "#23864b", "#b7791f", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) { hi = lo + 1; }
  const step0 = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0) || step0;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  if (typeof v !== "number") return String(v);
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-3 || a >= 1e5)) ? v.toExponential(2) : +v.toPrecision(4) + "";
}

function setupCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, w, h);
  ctx.font = "11px system-ui, sans-serif";
  return [ctx, w, h];
}

// series: [{name, points: [[x, y]...], color, mode: "line" | "dots" | "rings" | "step"}]
function plot(canvas, series, opts) {
  opts = opts || {};
  const [ctx, w, h] = setupCanvas(canvas);
  const pad = {l: 52, r: 12, t: opts.ylabel ? 24 : 10, b: 30};
  let xs = [], ys = [];
  series.forEach(s => s.points.forEach(p => { if (p[1] !== null && isFinite(p[1])) { xs.push(p[0]); ys.push(p[1]); } }));
  if (!xs.length) {
    ctx.fillStyle = "#68717d"; ctx.fillText(opts.empty || "no data yet", w / 2 - 30, h / 2); return;
  }
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.05 || 1; y1 += Math.abs(y1) * 0.05 || 1; }
  const X = x => pad.l + (x - x0) / (x1 - x0) * (w - pad.l - pad.r);
  const Y = y => h - pad.b - (y - y0) / (y1 - y0) * (h - pad.t - pad.b);
  ctx.strokeStyle = "#dde1e6"; ctx.fillStyle = "#68717d"; ctx.lineWidth = 1;
  niceTicks(y0, y1, 5).forEach(t => { ctx.beginPath(); ctx.moveTo(pad.l, Y(t)); ctx.lineTo(w - pad.r, Y(t)); ctx.stroke();
    ctx.fillText(fmt(t), 4, Y(t) + 4); });
  niceTicks(x0, x1, 8).forEach(t => ctx.fillText(fmt(t), X(t) - 8, h - pad.b + 14));
  if (opts.xlabel) ctx.fillText(opts.xlabel, w - pad.r - ctx.measureText(opts.xlabel).width, h - 4);
  if (opts.ylabel) ctx.fillText(opts.ylabel, 4, 12);
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length], pts = s.points.filter(p => p[1] !== null && isFinite(p[1]));
    ctx.strokeStyle = color; ctx.fillStyle = color; ctx.lineWidth = s.mode === "dots" ? 1 : 1.8;
    if (s.mode === "dots" || s.mode === "rings") {  // rings: hollow, for points apart (early-stopped trials)
      const r = pts.length > 2000 ? 1.5 : 2.5;
      pts.forEach(p => s.mode === "dots" ? ctx.fillRect(X(p[0]) - r, Y(p[1]) - r, 2 * r, 2 * r)
        : ctx.strokeRect(X(p[0]) - r - 0.5, Y(p[1]) - r - 0.5, 2 * r + 1, 2 * r + 1));
      return;
    }
    if (pts.length < 40) pts.forEach(p => ctx.fillRect(X(p[0]) - 2, Y(p[1]) - 2, 4, 4));  // a lone point shows too
    ctx.beginPath();
    pts.forEach((p, j) => {
      if (j === 0) { ctx.moveTo(X(p[0]), Y(p[1])); return; }
      if (s.mode === "step") ctx.lineTo(X(p[0]), Y(pts[j - 1][1]));
      ctx.lineTo(X(p[0]), Y(p[1]));
    });
    ctx.stroke();
  });
  if (series.length > 1 && opts.legend !== false) {
    series.forEach((s, i) => { ctx.fillStyle = s.color || PALETTE[i % PALETTE.length];
      ctx.fillText("■ " + s.name, pad.l + 8 + (i % 6) * 110, pad.t + 12 + Math.floor(i / 6) * 13); });
  }
}

// axes: [{name, values: [...] (categories) or null (numeric)}]; rows: [[v per axis]]; highlight: Set of row index
function parallel(canvas, axes, rows, highlight) {
  const [ctx, w, h] = setupCanvas(canvas);
  const pad = {l: 30, r: 30, t: 24, b: 16};
  if (!rows.length || axes.length < 2) { ctx.fillStyle = "#68717d"; ctx.fillText("no finished trials yet", w / 2 - 50, h / 2); return; }
  const scales = axes.map((a, k) => {
    if (a.values) return v => { const i = a.values.indexOf(v); return a.values.length > 1 ? i / (a.values.length - 1) : 0.5; };
    const vals = rows.map(r => r[k]).filter(v => v !== null && isFinite(v));
    const lo = Math.min(...vals), hi = Math.max(...vals);
    return v => hi > lo ? (v - lo) / (hi - lo) : 0.5;
  });
  const X = k => pad.l + k * (w - pad.l - pad.r) / (axes.length - 1);
  const Y = f => h - pad.b - f * (h - pad.t - pad.b);
  const draw = (row, color, width) => {
    ctx.strokeStyle = color; ctx.lineWidth = width; ctx.beginPath();
    row.forEach((v, k) => { const y = Y(scales[k](v)); k ? ctx.lineTo(X(k), y) : ctx.moveTo(X(k), y); });
    ctx.stroke();
  };
  const last = axes.length - 1;
  ctx.globalAlpha = rows.length > 2000 ? 0.08 : 0.35;
  rows.forEach((row, i) => { if (!highlight || !highlight.has(i)) draw(row, metricColor(scales[last](row[last])), 1); });
  ctx.globalAlpha = 1;
  if (highlight) rows.forEach((row, i) => { if (highlight.has(i)) draw(row, "#1d232b", 2.2); });
  ctx.fillStyle = "#1d232b"; ctx.strokeStyle = "#68717d"; ctx.lineWidth = 1;
  axes.forEach((a, k) => {
    ctx.beginPath(); ctx.moveTo(X(k), Y(0)); ctx.lineTo(X(k), Y(1)); ctx.stroke();
    const label = a.name.length > 18 ? "…" + a.name.slice(-17) : a.name;
    ctx.fillText(label, Math.min(Math.max(X(k) - ctx.measureText(label).width / 2, 2), w - ctx.measureText(label).width - 2), 12);
    (a.values || []).slice(0, 12).forEach(v => ctx.fillText(String(v), X(k) + 3, Y(scales[k](v)) + 4));
  });
}

function metricColor(f) {  // low metric: red, high: blue
  const t = Math.max(0, Math.min(1, f || 0));
  return `rgb(${Math.round(200 - 153 * t)},${Math.round(55 + 56 * t)},${Math.round(45 + 178 * t)})`;
}

// A layered drawing of one graph of the IR: nodes in rows by longest path from the inputs.
function drawGraph(container, graph) {
  const ids = graph.nodes.map(n => n.id), incoming = new Map(ids.map(i => [i, []]));
  graph.edges.forEach(([a, b]) => incoming.has(b) && incoming.get(b).push(a));
  const depth = new Map(), visiting = new Set();
  const level = id => {
    if (depth.has(id)) return depth.get(id);
    if (visiting.has(id)) return 0;  // a cycle would be a broken IR; draw it anyway
    visiting.add(id);
    const d = Math.max(-1, ...incoming.get(id).map(level)) + 1;
    depth.set(id, d); return d;
  };
  ids.forEach(level);
  const rows = [];
  graph.nodes.forEach(n => { const d = depth.get(n.id); (rows[d] = rows[d] || []).push(n); });
  const W = 170, H = 28, GX = 20, GY = 26, width = Math.max(...rows.map(r => r.length)) * (W + GX) + GX;
  const pos = new Map();
  rows.forEach((row, d) => row.forEach((n, i) => pos.set(n.id, [GX + i * (W + GX) + (width - row.length * (W + GX) - GX) / 2, GY + d * (H + GY)])));
  const esc = s => String(s).replace(/[&<>]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;"}[c]));
  let svg = `<svg class="graph" width="${width}" height="${rows.length * (H + GY) + GY}" xmlns="http://www.w3.org/2000/svg">` +
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto">` +
    `<path d="M0,0L10,5L0,10z" fill="#9aa3ad"/></marker></defs>`;
  graph.edges.forEach(([a, b]) => { const p = pos.get(a), q = pos.get(b); if (p && q)
    svg += `<line x1="${p[0] + W / 2}" y1="${p[1] + H}" x2="${q[0] + W / 2}" y2="${q[1]}"/>`; });
  graph.nodes.forEach(n => { const [x, y] = pos.get(n.id), t = n.type === "input" || n.type === "output" ? n.type : (n.target || n.type);
    svg += `<g><title>${esc(n.name)}: ${esc(n.op || n.type)}</title><rect x="${x}" y="${y}" width="${W}" height="${H}" rx="5"/>` +
      `<text x="${x + 6}" y="${y + 12}">${esc(n.name).slice(0, 22)}</text><text x="${x + 6}" y="${y + 24}" fill="#68717d">${esc(t.length > 24 ? t.slice(0, 23) + "…" : t)}</text></g>`; });
  container.innerHTML = svg + "</svg>";
}

window.charts = {plot, parallel, drawGraph, fmt, PALETTE};
})();
