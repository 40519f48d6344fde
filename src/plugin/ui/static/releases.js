// The Releases page: one row per Release in scope (Ready, health, reason, resources by health as a
// bar with text, drifted, marks, age), filtered by text, namespace and health, worst first. Rows
// are keyed by namespace/name: a change updates its own row, and rows move only when the order
// changed, so a thousand Releases stay smooth.
import { age, h, HEALTH_ORDER, healthBadge, keyed, setHealth, stream, text } from './dom.js';

/**
 * @typedef {{ key: string, namespace: string, name: string, ready: string, reason: string,
 *   message: string, counts: Record<string, number>, total: number, drifted: number,
 *   preview: boolean, deleting: boolean, stale: boolean, creationTimestamp?: string,
 *   health: string }} Row
 */

/** @param {Row} row */
function rank(row) {
  const health = HEALTH_ORDER.indexOf(row.health);
  return (health < 0 ? 1 : health) * 2 + (row.ready === 'True' ? 1 : 0);
}

/** @param {Row} a @param {Row} b */
function compare(a, b) {
  // Plain code-point order of namespace/name: cheaper than localeCompare on every re-sort, and
  // Kubernetes names are lower-case ASCII anyway.
  return rank(a) - rank(b) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * releasesPage builds the page and starts its stream; the returned function closes it.
 * @param {HTMLElement} main
 */
export function releasesPage(main) {
  /** @type {Map<string, { row: Row, dirty: boolean }>} */
  const rows = new Map();
  let orderChanged = true;
  let scheduled = false;
  const filter = h('input', {
    type: 'search',
    id: 'filter',
    placeholder: 'name, reason, message…',
    'aria-keyshortcuts': '/',
  });
  const namespace = h('select', { id: 'namespace' }, h('option', { value: '' }, 'all namespaces'));
  const health = h(
    'select',
    { id: 'health' },
    h('option', { value: '' }, 'any health'),
    h('option', { value: 'not-ready' }, 'not Ready'),
    ...HEALTH_ORDER.map((x) => h('option', { value: x }, x)),
  );
  const summary = h('p', { class: 'summary', id: 'summary' });
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
  // A grid of rows with table roles rather than a <table>: each row can then skip layout and
  // paint while it is off screen (content-visibility), which a table's rows cannot.
  const body = h('div', { role: 'rowgroup', class: 'body' });
  const table = h(
    'div',
    { class: 'releases', role: 'table', 'aria-label': 'Releases', 'aria-describedby': 'summary' },
    h(
      'div',
      { role: 'rowgroup' },
      h(
        'div',
        { role: 'row', class: 'row head' },
        ...['Release', 'Health', 'Ready', 'Reason', 'Resources', 'Drifted', 'Marks', 'Age'].map((c) =>
          h('span', { role: 'columnheader' }, c),
        ),
      ),
    ),
    body,
  );
  const empty = h('p', { class: 'muted', id: 'empty', hidden: true });
  main.replaceChildren(
    h('h2', {}, 'Releases'),
    h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
      h('label', { for: 'filter' }, 'Filter '),
      filter,
      h('label', { for: 'namespace' }, ' Namespace '),
      namespace,
      h('label', { for: 'health' }, ' Health '),
      health,
    ),
    problem,
    summary,
    table,
    empty,
  );
  const refilter = () => {
    orderChanged = true;
    schedule();
  };
  filter.addEventListener('input', refilter);
  namespace.addEventListener('change', refilter);
  health.addEventListener('change', refilter);

  /** @param {Row} row */
  const matches = (row) => {
    const q = /** @type {HTMLInputElement} */ (filter).value.trim().toLowerCase();
    const ns = /** @type {HTMLSelectElement} */ (namespace).value;
    const hv = /** @type {HTMLSelectElement} */ (health).value;
    if (ns && row.namespace !== ns) return false;
    if (hv === 'not-ready' && row.ready === 'True') return false;
    if (hv && hv !== 'not-ready' && row.health !== hv) return false;
    if (!q) return true;
    return `${row.namespace}/${row.name} ${row.reason} ${row.message}`.toLowerCase().includes(q);
  };

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  }

  function render() {
    scheduled = false;
    const started = performance.now();
    const now = Date.now();
    if (orderChanged) {
      const visible = [...rows.values()]
        .map((r) => r.row)
        .filter(matches)
        .sort(compare);
      keyed(
        body,
        visible,
        (r) => r.key,
        createRow,
        (el, r) => {
          // Rows whose data did not change keep their cells; only their place may move.
          if (rows.get(r.key)?.dirty || el.dataset.drawn !== 'yes') updateRow(el, r, now);
          el.dataset.drawn = 'yes';
        },
      );
      orderChanged = false;
      updateNamespaces();
      const counts = HEALTH_ORDER.map((x) => [x, [...rows.values()].filter((r) => r.row.health === x).length])
        .filter(([, n]) => n)
        .map(([x, n]) => `${n} ${x}`);
      text(
        summary,
        `${rows.size} Release${rows.size === 1 ? '' : 's'}${counts.length ? `: ${counts.join(', ')}` : ''}` +
          (visible.length === rows.size ? '' : ` (${visible.length} shown)`),
      );
      empty.hidden = visible.length > 0;
      text(empty, rows.size === 0 ? 'No Releases in scope.' : 'No Release matches the filter.');
    } else {
      for (const el of body.children) {
        const entry = rows.get(/** @type {HTMLElement} */ (el).dataset.key ?? '');
        if (entry?.dirty) updateRow(/** @type {HTMLElement} */ (el), entry.row, now);
      }
    }
    for (const entry of rows.values()) entry.dirty = false;
    // The bench reads these (bench/ui.ts): the script time of each pass, layout not included.
    performance.measure('releases-render', { start: started });
  }

  function updateNamespaces() {
    const names = [...new Set([...rows.values()].map((r) => r.row.namespace))].sort();
    const select = /** @type {HTMLSelectElement} */ (namespace);
    const current = [...select.options].slice(1).map((o) => o.value);
    if (current.join('\n') === names.join('\n')) return;
    const chosen = select.value;
    select.replaceChildren(
      h('option', { value: '' }, 'all namespaces'),
      ...names.map((n) => h('option', { value: n }, n)),
    );
    select.value = names.includes(chosen) ? chosen : '';
  }

  /**
   * upsert takes one row from the server; the order is recomputed only if its place may change.
   * @param {Row} row
   */
  function upsert(row) {
    const old = rows.get(row.key);
    if (!old || compare(old.row, row) !== 0 || matches(old.row) !== matches(row)) orderChanged = true;
    rows.set(row.key, { row, dirty: true });
  }

  const source = stream('/api/releases', {
    scope: (/** @type {{ namespace: string | null }} */ d) => {
      const scope = document.getElementById('scope');
      if (scope) text(scope, d.namespace ? `namespace ${d.namespace}` : 'all namespaces');
    },
    snapshot: (/** @type {{ rows: Row[] }} */ d) => {
      performance.mark('releases-snapshot');
      const keys = new Set(d.rows.map((r) => r.key));
      for (const key of rows.keys()) if (!keys.has(key)) rows.delete(key);
      for (const row of d.rows) upsert(row);
      orderChanged = true;
      schedule();
    },
    changes: (/** @type {{ upsert: Row[], remove: string[] }} */ d) => {
      for (const row of d.upsert) upsert(row);
      for (const key of d.remove) if (rows.delete(key)) orderChanged = true;
      schedule();
    },
    problem: (/** @type {{ message: string | null }} */ d) => {
      problem.hidden = !d.message;
      text(problem, d.message ?? '');
    },
  });
  // Ages move on without any change on the server.
  const ticker = setInterval(() => {
    for (const entry of rows.values()) entry.dirty = true;
    schedule();
  }, 30_000);
  const onKey = (/** @type {KeyboardEvent} */ e) => {
    if (e.key === '/' && document.activeElement?.tagName !== 'INPUT') {
      e.preventDefault();
      filter.focus();
    }
  };
  document.addEventListener('keydown', onKey);
  return () => {
    source.close();
    clearInterval(ticker);
    document.removeEventListener('keydown', onKey);
  };
}

/** @param {Row} row */
function createRow(row) {
  const link = h('a', { href: releaseHref(row) });
  const bar = h('div', { class: 'bar', 'aria-hidden': 'true' });
  for (const x of HEALTH_ORDER) bar.append(h('span', { class: `seg h-${x}` }));
  return h(
    'div',
    { role: 'row', class: 'row' },
    h('span', { role: 'rowheader', class: 'name' }, link),
    h('span', { role: 'cell', class: 'c-health' }, healthBadge(row.health)),
    h('span', { role: 'cell', class: 'c-ready' }),
    h('span', { role: 'cell', class: 'c-reason' }),
    h('span', { role: 'cell', class: 'c-resources' }, bar, h('span', { class: 'counts' })),
    h('span', { role: 'cell', class: 'c-drifted num' }),
    h('span', { role: 'cell', class: 'c-marks' }),
    h('span', { role: 'cell', class: 'c-age num' }),
  );
}

/** @param {Row} row */
function releaseHref(row) {
  return `#/release/${encodeURIComponent(row.namespace)}/${encodeURIComponent(row.name)}`;
}

/**
 * @param {HTMLElement} tr
 * @param {Row} row
 * @param {number} now
 */
function updateRow(tr, row, now) {
  const cells = /** @type {HTMLElement[]} */ ([...tr.children]);
  const [name, health, ready, reason, resources, drifted, marks, ageCell] = cells;
  if (!name || !health || !ready || !reason || !resources || !drifted || !marks || !ageCell) return;
  text(/** @type {HTMLElement} */ (name.firstElementChild), `${row.namespace}/${row.name}`);
  setHealth(/** @type {HTMLElement} */ (health.firstElementChild), row.health);
  text(ready, row.ready === 'True' ? '✓ True' : row.ready === 'False' ? '✕ False' : `? ${row.ready}`);
  ready.dataset.ready = row.ready;
  text(reason, row.reason);
  reason.title = row.message;
  const bar = /** @type {HTMLElement} */ (resources.firstElementChild);
  HEALTH_ORDER.forEach((x, i) => {
    const seg = /** @type {HTMLElement} */ (bar.children[i]);
    const n = row.counts[x] ?? 0;
    const grow = String(n);
    if (seg.style.flexGrow !== grow) seg.style.flexGrow = grow;
    seg.hidden = n === 0;
  });
  const counts = HEALTH_ORDER.filter((x) => (row.counts[x] ?? 0) > 0)
    .map((x) => `${row.counts[x]} ${x}`)
    .join(', ');
  text(/** @type {HTMLElement} */ (resources.lastElementChild), row.total === 0 ? 'none' : counts);
  text(drifted, String(row.drifted));
  drifted.dataset.drifted = row.drifted > 0 ? 'yes' : 'no';
  const markText = [
    row.preview ? 'preview' : '',
    row.counts['Suspended'] ? 'suspended' : '',
    row.deleting ? 'deleting' : '',
    row.stale ? 'catching up' : '',
  ]
    .filter(Boolean)
    .join(' · ');
  text(marks, markText);
  text(ageCell, age(row.creationTimestamp, now));
}
