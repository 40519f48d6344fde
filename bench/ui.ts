/**
 * `npm run bench -- --ui [--sizes 1000] [--trials 20]`: the web view of `kubectl release ui` with
 * many Releases. A fresh control-plane cluster gets N Releases with a status of five resources each
 * (written through the status subresource, as the controller writes it; no controller runs, so
 * nothing else moves), the view's server runs in this process with the admin kubeconfig, and a
 * headless Chromium (scripts/chromium.sh) loads the page. Measured in the page's own clock:
 *   - first render: from navigation start to all N rows in the table (median of 3 loads);
 *   - live update: from just before one Release's status is written to its row showing the new
 *     health (median, p90 and max of T trials), the API server's watch and the view's batching
 *     included;
 *   - burst: 100 Releases written at once until all 100 rows show it, and the page's main-thread
 *     time (DevTools TaskDuration) spent on it.
 * Writes bench/results/ui-<time>.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_VERSION } from '../src/api/v1alpha1/constants.ts';
import { connectUser } from '../src/plugin/access.ts';
import { startUi } from '../src/plugin/ui/server.ts';
import { up } from '../testbed/cluster.ts';
import { Browser } from '../test/support/browser.ts';
import { installCRDs } from '../test/support/fixtures.ts';
import { TestKube } from '../test/support/kube.ts';
import { loadAverage, machine } from './machine.ts';
import { RESULTS_DIR, stamp } from './report.ts';

/** UiBenchOptions size the run. */
export interface UiBenchOptions {
  releases: number;
  trials: number;
}

const NAMESPACE = 'bench-ui';
const BURST = 100;

function status(health: 'Healthy' | 'Degraded') {
  const kinds = ['Deployment', 'Service', 'ConfigMap', 'ServiceAccount', 'HorizontalPodAutoscaler'];
  return {
    observedGeneration: 1,
    conditions: [
      {
        type: 'Ready',
        status: health === 'Healthy' ? 'True' : 'False',
        reason: health === 'Healthy' ? 'Ready' : 'Degraded',
        message:
          health === 'Healthy'
            ? 'all 5 resources are Healthy or Suspended'
            : 'Deployment app/web: ProgressDeadlineExceeded',
        lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        observedGeneration: 1,
      },
    ],
    resources: kinds.map((kind, i) => ({
      id: kind.toLowerCase(),
      group: kind === 'Deployment' ? 'apps' : kind === 'HorizontalPodAutoscaler' ? 'autoscaling' : '',
      version: kind === 'HorizontalPodAutoscaler' ? 'v2' : 'v1',
      kind,
      namespace: 'app',
      name: 'web',
      healthStatus: i === 0 ? health : 'Healthy',
      healthReason: i === 0 && health === 'Degraded' ? 'ProgressDeadlineExceeded' : 'Available',
      ...(i === 0 ? { status: { replicas: 3, readyReplicas: health === 'Healthy' ? 3 : 1 } } : {}),
    })),
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** runUiBench runs the web view bench and prints its figures. */
export async function runUiBench(options: UiBenchOptions, log: (line: string) => void): Promise<void> {
  const cluster = await up(`rc-bench-ui-${process.pid}`, { log });
  const kube = new TestKube(cluster);
  let browser: Browser | undefined;
  let server: Awaited<ReturnType<typeof startUi>> | undefined;
  try {
    await installCRDs(kube);
    await kube.ensureNamespace(NAMESPACE);
    const names = Array.from({ length: options.releases }, (_, i) => `rel-${String(i).padStart(5, '0')}`);
    const setStatus = (name: string, health: 'Healthy' | 'Degraded') =>
      kube.patch(
        API_VERSION,
        'Release',
        NAMESPACE,
        name,
        { status: status(health) },
        { subresource: 'status' },
      );
    const created = performance.now();
    await pool(names, 16, async (name) => {
      await kube.create({
        apiVersion: API_VERSION,
        kind: 'Release',
        metadata: { name, namespace: NAMESPACE },
        spec: { owner: { projectName: 'p', componentName: name }, environmentName: 'dev', resources: [] },
      });
      await setStatus(name, 'Healthy');
    });
    log(
      `ui bench: ${names.length} Releases with status in ${((performance.now() - created) / 1000).toFixed(1)}s`,
    );

    const user = await connectUser({ kubeconfig: cluster.kubeconfigPath }, {});
    server = await startUi({ client: user.client, namespace: NAMESPACE, port: 0 });
    browser = await Browser.launch();
    await browser.send('Performance.enable');
    const allRows = `new Promise((res) => { const check = () =>
      document.querySelectorAll('.releases .body .row').length >= ${names.length} ? res(performance.now()) : requestAnimationFrame(check);
      check(); })`;
    const firstRender: number[] = [];
    for (let i = 0; i < 3; i++) {
      await browser.navigate(i === 0 ? server.url : `${new URL(server.url).origin}/`);
      firstRender.push(await browser.evaluate<number>(allRows));
    }
    log(`ui bench: first render ${firstRender.map((t) => t.toFixed(0)).join(', ')} ms`);

    // The probe polls every 10 ms with one pass over the rows (not a query per key per frame),
    // so that it costs the page little next to what it measures.
    const showing = (keys: string[], health: string) => `new Promise((res) => {
      const wanted = new Set(${JSON.stringify(keys.map((n) => `${NAMESPACE}/${n}`))});
      const check = () => {
        let seen = 0;
        for (const row of document.querySelectorAll('.releases .body .row')) {
          if (wanted.has(row.dataset.key) && row.children[1].textContent.includes(${JSON.stringify(health)})) seen++;
        }
        if (seen === wanted.size) res(Date.now()); else setTimeout(check, 10);
      };
      check(); })`;
    const live: number[] = [];
    for (let t = 0; t < options.trials; t++) {
      const name = names[Math.floor(((t + 0.5) / options.trials) * names.length)]!;
      for (const health of ['Degraded', 'Healthy'] as const) {
        const seen = browser.evaluate<number>(showing([name], health));
        const start = Date.now();
        await setStatus(name, health);
        live.push((await seen) - start);
      }
    }
    log(`ui bench: live updates median ${percentile(live, 50)} ms, p90 ${percentile(live, 90)} ms`);

    const burst = names
      .filter((_, i) => i % Math.max(1, Math.floor(names.length / BURST)) === 0)
      .slice(0, BURST);
    await browser.evaluate(`performance.clearMeasures('releases-render')`);
    const taskBefore = await taskDuration(browser);
    const seen = browser.evaluate<number>(showing(burst, 'Degraded'));
    const start = Date.now();
    await pool(burst, 16, (name) => setStatus(name, 'Degraded'));
    const burstMs = (await seen) - start;
    const burstTaskMs = (await taskDuration(browser)) - taskBefore;
    // The view's own script per pass (sort, keyed update), without style, layout and paint.
    const passes = await browser.evaluate<number[]>(
      `performance.getEntriesByName('releases-render').map((e) => e.duration)`,
    );

    const result = {
      at: new Date().toISOString(),
      machine: machine(),
      loadAverage: loadAverage(),
      releases: names.length,
      firstRenderMs: { runs: firstRender.map(Math.round), median: Math.round(percentile(firstRender, 50)) },
      liveUpdateMs: {
        trials: live.length,
        median: percentile(live, 50),
        p90: percentile(live, 90),
        max: Math.max(...live),
      },
      burst: {
        releases: burst.length,
        allShownMs: burstMs,
        pageMainThreadMs: Math.round(burstTaskMs),
        renderPasses: passes.length,
        renderScriptMs: Math.round(passes.reduce((a, b) => a + b, 0)),
      },
    };
    const file = join(RESULTS_DIR, `ui-${stamp(result.at)}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`
| web view, ${names.length} Releases | figure |
|---|---|
| first render (navigation to all rows), median of 3 | ${result.firstRenderMs.median} ms |
| live update (status write to row), median / p90 / max of ${live.length} | ${result.liveUpdateMs.median} / ${result.liveUpdateMs.p90} / ${result.liveUpdateMs.max} ms |
| burst of ${burst.length} writes until all shown | ${burstMs} ms (page main thread ${result.burst.pageMainThreadMs} ms; ${passes.length} render passes, ${result.burst.renderScriptMs} ms of the view's script) |

load average at the end: ${result.loadAverage.join(' ')}

${file}`);
  } finally {
    await browser?.close();
    await server?.close();
    await kube.close();
    await cluster.down();
  }
}

async function taskDuration(browser: Browser): Promise<number> {
  const { metrics } = (await browser.send('Performance.getMetrics')) as {
    metrics: Array<{ name: string; value: number }>;
  };
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
}
