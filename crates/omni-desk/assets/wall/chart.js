// The wall's charts as small SVG drawings: a line chart (service level,
// queue depth) and a paired bar chart (arrivals and answers) over the
// day's intervals.
//
// Hand-written rather than a charting library: the wall needs two chart
// kinds over at most 96 points, drawn with the theme's colors through CSS
// classes. A library would be a large file to vendor and keep up to date
// (no CDN: the page must work without the network and under a CSP that
// allows only its own scripts) for a few dozen lines of SVG.

const NS = 'http://www.w3.org/2000/svg';
const W = 480;
const H = 180;
const PAD = { left: 36, right: 10, top: 16, bottom: 22 };

function el(tag, attrs, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

/** A chart frame over `slots` intervals and values up to `yMax`. */
function frame(title, slots, yMax, yLabel) {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': title });
  svg.appendChild(el('title', {}, title));
  const x = (i) => PAD.left + (i / Math.max(1, slots)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / yMax) * (H - PAD.top - PAD.bottom);
  svg.appendChild(el('line', { class: 'axis', x1: PAD.left, y1: y(0), x2: W - PAD.right, y2: y(0) }));
  svg.appendChild(el('line', { class: 'axis', x1: PAD.left, y1: y(0), x2: PAD.left, y2: PAD.top }));
  for (const v of [0, yMax / 2, yMax]) {
    svg.appendChild(el('text', { class: 'tick', x: PAD.left - 4, y: y(v) + 3, 'text-anchor': 'end' }, yLabel(v)));
  }
  // Hours along the bottom, every 3 hours of a 96-interval day.
  const perHour = slots / 24;
  for (let h = 0; h <= 24; h += 3) {
    svg.appendChild(el('text', { class: 'tick', x: x(h * perHour), y: H - 6, 'text-anchor': 'middle' }, String(h).padStart(2, '0')));
  }
  return { svg, x, y };
}

/**
 * Draws lines into `host`: `series` is `[{ label, points: [[index, value]] }]`,
 * `slots` the intervals in a day, `yMax` the top of the scale, `target` an
 * optional dashed level, `yLabel(v)` the tick text.
 */
export function lineChart(host, { title, series, slots, yMax, target, yLabel }) {
  const { svg, x, y } = frame(title, slots, yMax, yLabel);
  if (target !== undefined && target !== null) {
    svg.appendChild(el('line', { class: 'target', x1: PAD.left, y1: y(target), x2: W - PAD.right, y2: y(target) }));
  }
  series.forEach((s, n) => {
    const mid = (i) => x(i + 0.5);
    if (s.points.length > 1) {
      const d = s.points.map(([i, v], k) => `${k ? 'L' : 'M'}${mid(i).toFixed(1)},${y(Math.min(v, yMax)).toFixed(1)}`).join(' ');
      svg.appendChild(el('path', { class: `line s${n}`, d }));
    }
    for (const [i, v] of s.points) {
      const dot = el('circle', { class: `s${n}`, cx: mid(i).toFixed(1), cy: y(Math.min(v, yMax)).toFixed(1), r: 2.5 });
      dot.appendChild(el('title', {}, `${s.label}: ${yLabel(v)}`));
      svg.appendChild(dot);
    }
    svg.appendChild(el('text', { class: 'legend', x: PAD.left + 6 + n * 110, y: 11 }, s.label));
  });
  host.replaceChildren(svg);
}

/**
 * Draws paired bars into `host`: `series` is two `{ label, points }` as for
 * [`lineChart`], drawn side by side in each interval.
 */
export function barChart(host, { title, series, slots, yMax, yLabel }) {
  const { svg, x, y } = frame(title, slots, yMax, yLabel);
  const width = (x(1) - x(0)) / (series.length + 0.5);
  series.forEach((s, n) => {
    for (const [i, v] of s.points) {
      const bar = el('rect', {
        class: `s${n}`,
        x: (x(i) + n * width).toFixed(1),
        y: y(v).toFixed(1),
        width: Math.max(1, width).toFixed(1),
        height: (y(0) - y(v)).toFixed(1),
      });
      bar.appendChild(el('title', {}, `${s.label}: ${v}`));
      svg.appendChild(bar);
    }
    svg.appendChild(el('rect', { class: `s${n}`, x: PAD.left + 6 + n * 110, y: 4, width: 8, height: 8 }));
    svg.appendChild(el('text', { class: 'legend', x: PAD.left + 18 + n * 110, y: 11 }, s.label));
  });
  host.replaceChildren(svg);
}

/** A round top for a scale holding `max`. */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(max)));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}
