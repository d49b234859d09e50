import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLatencyPlot } from '../src/plot/latency-plot.js';
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
});
