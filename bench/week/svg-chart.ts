/**
 * Line charts as SVG text, for the simulator's hourly series: written by hand because two line
 * charts need about a hundred lines, render the same bytes from the same figures (results diff
 * cleanly in review), and need no browser, canvas or chart runtime. Axes, day grid, legend; a
 * series value of NaN (an hour without reads) breaks its line.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  /** One value per x step; NaN for a gap. */
  readonly values: readonly number[];
  readonly dashed?: boolean;
}

export interface LineChartOptions {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Labels under the x axis at these step indices (day starts). */
  readonly xTicks: readonly { readonly at: number; readonly label: string }[];
  readonly yMin?: number;
  readonly yMax?: number;
  /** Log scale on y (values <= 0 are gaps). */
  readonly logY?: boolean;
  readonly yFormat?: (v: number) => string;
  readonly width?: number;
  readonly height?: number;
}

const escape = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function lineChart(options: LineChartOptions): string {
  const width = options.width ?? 960;
  const height = options.height ?? 360;
  const left = 70;
  const right = 20;
  const top = 40;
  const bottom = 60;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const steps = Math.max(1, ...options.series.map((s) => s.values.length)) - 1 || 1;
  const finite = options.series.flatMap((s) =>
    s.values.filter((v) => Number.isFinite(v) && (!options.logY || v > 0)),
  );
  let yMin = options.yMin ?? Math.min(...finite);
  let yMax = options.yMax ?? Math.max(...finite);
  if (!Number.isFinite(yMin) || !Number.isFinite(yMax)) {
    yMin = 0;
    yMax = 1;
  }
  if (yMax <= yMin) yMax = yMin + 1;
  const ty = options.logY
    ? (v: number) => {
        const lo = Math.log10(yMin);
        const hi = Math.log10(yMax);
        return top + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
      }
    : (v: number) => top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const tx = (i: number) => left + (i / steps) * plotW;
  const fmt = options.yFormat ?? ((v: number) => String(Math.round(v * 100) / 100));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(options.title)}</text>`,
  );
  // y grid and labels
  const yTicks: number[] = [];
  if (options.logY) {
    for (let e = Math.floor(Math.log10(yMin)); e <= Math.ceil(Math.log10(yMax)); e++) {
      const v = 10 ** e;
      if (v >= yMin && v <= yMax) yTicks.push(v);
    }
  } else {
    for (let i = 0; i <= 5; i++) yTicks.push(yMin + ((yMax - yMin) * i) / 5);
  }
  for (const v of yTicks) {
    const y = ty(v).toFixed(1);
    out.push(
      `<line x1="${left}" y1="${y}" x2="${left + plotW}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escape(fmt(v))}</text>`,
    );
  }
  for (const tick of options.xTicks) {
    const x = tx(tick.at).toFixed(1);
    out.push(
      `<line x1="${x}" y1="${top}" x2="${x}" y2="${top + plotH}" stroke="#d0d0d0"/>`,
      `<text x="${x}" y="${top + plotH + 16}" text-anchor="start">${escape(tick.label)}</text>`,
    );
  }
  out.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`,
  );
  for (const s of options.series) {
    const parts: string[] = [];
    let open = false;
    s.values.forEach((v, i) => {
      if (!Number.isFinite(v) || (options.logY && v <= 0)) {
        open = false;
        return;
      }
      const clamped = Math.min(yMax, Math.max(yMin, v));
      parts.push(`${open ? 'L' : 'M'}${tx(i).toFixed(1)} ${ty(clamped).toFixed(1)}`);
      open = true;
    });
    out.push(
      `<path d="${parts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.5"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
    );
  }
  options.series.forEach((s, i) => {
    const x = left + 10 + i * 200;
    const y = height - 14;
    out.push(
      `<line x1="${x}" y1="${y}" x2="${x + 24}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
      `<text x="${x + 30}" y="${y}" dominant-baseline="middle">${escape(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
