import { Resvg } from '@resvg/resvg-js';
import { writeFile } from 'node:fs/promises';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One point of a latency-versus-load plot. */
export interface PlotPoint {
  readonly series: string;
  /** Offered load, requests/s. */
  readonly offeredRps: number;
  /** Latency in milliseconds (plotted on a log scale, so it must be positive). */
  readonly latencyMs: number;
  /** Failed the validity rule: drawn hollow. */
  readonly valid: boolean;
  /** The spread over rounds (first and third quartile), ms: drawn as an error bar. */
  readonly lowMs?: number;
  readonly highMs?: number;
}

export interface LatencyPlotOptions {
  readonly title: string;
  /** A line under the title (e.g. the experiment's setup). */
  readonly subtitle?: string;
  readonly yTitle: string;
  /** Horizontal rule (e.g. the 1 ms bound), milliseconds. */
  readonly boundMs?: number;
}

/** The vega-lite spec: one line per series, log-scale latency, hollow points for invalid runs, error bars for the spread over rounds. */
export function latencyPlotSpec(points: readonly PlotPoint[], options: LatencyPlotOptions): TopLevelSpec {
  const layers: object[] = [
    {
      mark: { type: 'line', point: false },
      encoding: {
        x: { field: 'offeredRps', type: 'quantitative', title: 'offered load (requests/s)' },
        y: { field: 'latencyMs', type: 'quantitative', title: options.yTitle, scale: { type: 'log' } },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
    {
      mark: { type: 'point', size: 60, strokeWidth: 2 },
      encoding: {
        x: { field: 'offeredRps', type: 'quantitative' },
        y: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' } },
        color: { field: 'series', type: 'nominal', title: null },
        fill: { condition: { test: 'datum.valid', field: 'series', type: 'nominal' }, value: 'white' },
      },
    },
  ];
  const withSpread = points.some((p) => p.lowMs !== undefined && p.highMs !== undefined);
  if (withSpread) {
    layers.push({
      transform: [{ filter: 'isValid(datum.lowMs) && isValid(datum.highMs)' }],
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: {
        x: { field: 'offeredRps', type: 'quantitative' },
        y: { field: 'lowMs', type: 'quantitative', scale: { type: 'log' } },
        y2: { field: 'highMs' },
        color: { field: 'series', type: 'nominal', title: null },
      },
    });
  }
  if (options.boundMs !== undefined) {
    layers.push({ data: { values: [{ bound: options.boundMs }] }, mark: { type: 'rule', strokeDash: [4, 4], color: 'gray' }, encoding: { y: { field: 'bound', type: 'quantitative' } } });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title,
      subtitle: [
        ...(options.subtitle === undefined ? [] : [options.subtitle]),
        'hollow points: the run failed the validity rule (achieved < 98% of offered or > 0.1% dropped)',
        ...(withSpread ? ['points: median over rounds; bars: interquartile range over rounds'] : []),
      ],
    },
    config: { legend: { labelLimit: 320 } },
    width: 560,
    height: 340,
    background: 'white',
    data: {
      values: points.map((p) => ({
        ...p,
        latencyMs: Math.max(p.latencyMs, 0.001),
        ...(p.lowMs === undefined ? {} : { lowMs: Math.max(p.lowMs, 0.001) }),
        ...(p.highMs === undefined ? {} : { highMs: Math.max(p.highMs, 0.001) }),
      })),
    },
    layer: layers,
  } as TopLevelSpec;
}

/** Renders the plot headlessly: vega-lite -> vega View.toSVG -> resvg PNG (no browser). */
export async function renderLatencyPlot(points: readonly PlotPoint[], options: LatencyPlotOptions): Promise<{ svg: string; png: Uint8Array }> {
  const { spec } = compile(latencyPlotSpec(points, options));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' }).render().asPng();
    return { svg, png };
  } finally {
    view.finalize();
  }
}

/** Writes `<base>.svg` and `<base>.png`; returns their paths. */
export async function writeLatencyPlot(base: string, points: readonly PlotPoint[], options: LatencyPlotOptions): Promise<{ svgPath: string; pngPath: string }> {
  const { svg, png } = await renderLatencyPlot(points, options);
  const svgPath = `${base}.svg`;
  const pngPath = `${base}.png`;
  await writeFile(svgPath, svg);
  await writeFile(pngPath, png);
  return { svgPath, pngPath };
}
