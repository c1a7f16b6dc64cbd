// The gateway scenario of docs/examples/gateways: 1 daemon + 3 gateways + a load balancer; Σ local = global.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUN = fileURLToPath(new URL('../../docs/examples/gateways/run.mjs', import.meta.url));

describe('docs/examples/gateways', () => {
  it('bulk orders through the balancer: the gateways\' local counts add up to the global count', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [RUN, '--bulk', '6', '--n', '200', '--singles', '30'], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; requested: number; sumLocal: number; globalTotal: number; locals: { sent: number }[]; refusedStatuses: number[] };
    expect(summary.ok).toBe(true);
    expect(summary.requested).toBe(1230);
    expect(summary.sumLocal).toBe(summary.globalTotal);
    expect(summary.globalTotal).toBe(1230);
    expect(summary.locals).toHaveLength(3);
    expect(summary.locals.every((l) => l.sent > 0)).toBe(true); // least-conn spread the load
    expect(summary.refusedStatuses).toEqual([400, 400, 400, 400]);
  });
});
