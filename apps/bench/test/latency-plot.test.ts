import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { latencyPlotSpec, writeLatencyPlot } from '../src/plot/latency-plot.js';
import { plotPoints } from '../src/runner/experiment-results.js';
import type { RunRecord } from '../src/runner/run-record.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('latency plot', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('writes an SVG with every series and a PNG', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-plot-'));
    dirs.push(dir);
    const runs = [
      { policy: 'linux-default', offeredRps: 4000, getP99Us: 12_000, valid: true },
      { policy: 'linux-default', offeredRps: 8000, getP99Us: 30_000, valid: true },
      { policy: 'sita', offeredRps: 4000, getP99Us: 300, valid: true },
      { policy: 'sita', offeredRps: 8000, getP99Us: 450, valid: false },
    ] as RunRecord[];
    const points = plotPoints({ runs });
    expect(points).toHaveLength(4);
    const { svgPath, pngPath } = await writeLatencyPlot(join(dir, 'scan-mix'), points, { title: 'scan-mix', yTitle: 'GET p99 (ms)', boundMs: 1 });
    const svg = await readFile(svgPath, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('linux-default');
    expect(svg).toContain('sita');
    expect(svg).toContain('GET p99 (ms)');
    const png = await readFile(pngPath);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    // IHDR: the declared size is the plot's, not an empty image.
    expect(png.readUInt32BE(16)).toBeGreaterThan(400);
    expect(png.readUInt32BE(20)).toBeGreaterThan(200);
  });

  it('draws the spread over rounds as error bars from q1 to q3', async () => {
    const runs = [
      { policy: 'sita', offeredRps: 8000, getP99Us: 450, valid: true, getP99Spread: { q1: 300, median: 450, q3: 900, count: 5 } },
      { policy: 'linux-default', offeredRps: 8000, getP99Us: 30_000, valid: true },
    ] as RunRecord[];
    const points = plotPoints({ runs });
    expect(points[0]).toMatchObject({ series: 'sita', latencyMs: 0.45, lowMs: 0.3, highMs: 0.9 });
    expect(points[1]).not.toHaveProperty('lowMs');
    const spec = latencyPlotSpec(points, { title: 't', yTitle: 'GET p99 (ms)' }) as unknown as { layer: Array<{ mark: { type: string }; encoding?: Record<string, { field?: string }> }> };
    const bars = spec.layer.filter((l) => l.encoding?.['y2'] !== undefined);
    expect(bars).toHaveLength(1);
    expect(bars[0]!.encoding!['y']!.field).toBe('lowMs');
    expect(bars[0]!.encoding!['y2']!.field).toBe('highMs');
    const dir = await mkdtemp(join(tmpdir(), 'bench-plot-'));
    dirs.push(dir);
    const { svgPath } = await writeLatencyPlot(join(dir, 'bars'), points, { title: 'bars', yTitle: 'GET p99 (ms)' });
    expect(await readFile(svgPath, 'utf8')).toContain('bars: interquartile range over rounds');
    // Without any spread, no bar layer and no legend line about bars.
    expect((latencyPlotSpec(plotPoints({ runs: [runs[1]!] }), { title: 't', yTitle: 'y' }) as unknown as { layer: unknown[] }).layer).toHaveLength(2);
  });
});
