// The Release page: its Ready state and conditions, its resources grouped by kind (health, reason,
// message; expandable: live .status, drift with the managers, DryRun plan, policy), objects a
// preview would delete and retained objects, its Events as a timeline with repeats folded, and its
// Environment and DataPlane. Each message from the server is the whole page's data; every part is
// keyed, and a part is rewritten only when its own data changed (an open resource stays open).
import { age, attr, h, healthBadge, keyed, setHealth, stream, text } from './dom.js';

/**
 * @typedef {{ type: string, status: string, reason: string, message: string, lastTransitionTime?: string }} Condition
 * @typedef {{ id?: string, group: string, version: string, kind: string, namespace?: string, name: string, reason?: string }} Ref
 * @typedef {Ref & { id: string, health: string, message?: string, status?: unknown, lastObservedTime?: string,
 *   drift?: { fields: { path: string, manager?: string }[], deleted: boolean },
 *   plan?: { action: string, fields: string[], message?: string },
 *   policy?: { apply?: string, prune?: string, ignoreFields: string[] } }} Resource
 * @typedef {{ key: string, type: string, reason: string, message: string, count: number, first?: string, last?: string, source?: string }} Entry
 * @typedef {{ kind: string, name: string, found: boolean, error?: string, facts: [string, string][], conditions: Condition[] }} Placement
 * @typedef {{ row: { ready: string, reason: string, message: string, health: string, preview: boolean, deleting: boolean, stale: boolean, drifted: number, total: number, creationTimestamp?: string },
 *   environment?: string, driftMode?: string, applyMode?: string, deletionPolicy?: string,
 *   conditions: Condition[], resources: Resource[], plannedDeletions: Ref[], retained: Ref[] }} Detail
 * @typedef {{ namespace: string, name: string, release?: Detail, events: Entry[], environment?: Placement, dataPlane?: Placement, problems: string[] }} Message
 */

/**
 * releasePage builds the page of one Release and starts its stream; the returned function closes it.
 * @param {HTMLElement} main
 * @param {string} namespace
 * @param {string} name
 */
export function releasePage(main, namespace, name) {
  const health = healthBadge('Unknown');
  const ready = h('span', { class: 'ready' });
  const marks = h('p', { class: 'marks' });
  const problems = h('ul', { class: 'problem', role: 'alert' });
  const missing = h('p', { class: 'muted', hidden: true }, 'Waiting for the Release…');
  const conditions = h('tbody');
  const kinds = h('div', { class: 'kinds' });
  const planned = h('ul', { class: 'refs' });
  const retained = h('ul', { class: 'refs' });
  const plannedSection = section('Objects a real apply would delete', planned, 'planned');
  const retainedSection = section('Retained objects (given back, no longer tracked)', retained, 'retained');
  const timeline = h('ol', { class: 'timeline' });
  const placement = h('div', { class: 'placement' });
  main.replaceChildren(
    h('p', {}, h('a', { href: '#/' }, '← All Releases')),
    h('h2', { id: 'title' }, `Release ${namespace}/${name} `, health),
    h('p', { class: 'summary' }, ready),
    marks,
    problems,
    missing,
    section(
      'Conditions',
      h(
        'table',
        { class: 'conditions' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Type', 'Status', 'Reason', 'Message', 'Since'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        conditions,
      ),
      'conditions',
    ),
    section('Resources', kinds, 'resources'),
    plannedSection,
    retainedSection,
    section('Events', timeline, 'events'),
    section('Placement', placement, 'placement'),
  );

  /** @param {Message} m */
  function render(m) {
    const now = Date.now();
    keyed(
      problems,
      m.problems,
      (p) => p,
      (p) => h('li', {}, p),
      () => undefined,
    );
    missing.hidden = m.release !== undefined;
    const d = m.release;
    if (!d) {
      text(missing, 'This Release does not exist (or was deleted). The page updates when it appears.');
      return;
    }
    setHealth(health, d.row.health);
    text(
      ready,
      `Ready ${d.row.ready}${d.row.reason ? ` · ${d.row.reason}` : ''}${d.row.message ? `: ${d.row.message}` : ''}`,
    );
    ready.dataset.ready = d.row.ready;
    text(
      marks,
      [
        d.environment ? `Environment ${d.environment}` : '',
        `${d.row.total} resources`,
        d.row.drifted ? `${d.row.drifted} drifted` : '',
        d.applyMode === 'DryRun' ? 'preview (apply mode DryRun: nothing is applied)' : '',
        d.driftMode ? `drift mode ${d.driftMode}` : '',
        d.deletionPolicy ? `deletion policy ${d.deletionPolicy}` : '',
        d.row.deleting ? 'being deleted' : '',
        d.row.stale ? 'status describes an older generation (the controller is catching up)' : '',
        d.row.creationTimestamp ? `age ${age(d.row.creationTimestamp, now)}` : '',
      ]
        .filter(Boolean)
        .join(' · '),
    );
    keyed(
      conditions,
      d.conditions,
      (c) => c.type,
      () => h('tr', {}, h('th', { scope: 'row' }), h('td'), h('td'), h('td'), h('td')),
      (tr, c) => {
        const [type, status, reason, message, since] = /** @type {HTMLElement[]} */ ([...tr.children]);
        if (!type || !status || !reason || !message || !since) return;
        text(type, c.type);
        text(status, c.status === 'True' ? '✓ True' : c.status === 'False' ? '✕ False' : `? ${c.status}`);
        status.dataset.ready = c.status;
        text(reason, c.reason);
        text(message, c.message);
        text(since, age(c.lastTransitionTime, now));
      },
    );
    renderResources(kinds, d.resources);
    renderRefs(planned, d.plannedDeletions, 'would be deleted');
    renderRefs(retained, d.retained, '');
    plannedSection.hidden = d.plannedDeletions.length === 0;
    retainedSection.hidden = d.retained.length === 0;
    keyed(
      timeline,
      m.events.slice(-200),
      (e) => e.key,
      () =>
        h(
          'li',
          {},
          h('span', { class: 'when' }),
          h('span', { class: 'type' }),
          h('strong'),
          h('span', { class: 'msg' }),
        ),
      (li, e) => {
        const [when, type, reason, message] = /** @type {HTMLElement[]} */ ([...li.children]);
        if (!when || !type || !reason || !message) return;
        text(
          when,
          e.count > 1
            ? `${age(e.last, now)} ago (×${e.count} over ${age(e.first, now)})`
            : `${age(e.last, now)} ago`,
        );
        text(type, e.type === 'Warning' ? '⚠ Warning' : e.type);
        type.dataset.type = e.type;
        text(reason, e.reason);
        text(message, e.message);
      },
    );
    if (m.events.length === 0 && timeline.children.length === 0) timeline.replaceChildren();
    keyed(
      placement,
      [m.environment, m.dataPlane].filter((p) => p !== undefined),
      (p) => `${p.kind}/${p.name}`,
      () => h('div', { class: 'place' }),
      (el, p) => {
        const json = JSON.stringify(p);
        if (el.dataset.json === json) return;
        el.dataset.json = json;
        const content = h(
          'div',
          {},
          h('h3', {}, `${p.kind} ${p.name}`),
          !p.found && p.error === 'loading' ? h('p', { class: 'muted' }, 'loading…') : null,
          !p.found && p.error !== 'loading'
            ? h('p', { class: p.error ? 'problem' : 'muted' }, p.error ?? 'not found in this namespace')
            : null,
          p.facts.length
            ? h('dl', {}, ...p.facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))
            : null,
          p.found && p.conditions.length === 0 ? h('p', { class: 'muted' }, 'no conditions reported') : null,
          ...p.conditions.map((c) =>
            h(
              'p',
              {},
              `${c.type} `,
              h('span', { 'data-ready': c.status }, c.status),
              c.reason ? ` · ${c.reason}` : '',
              c.message ? `: ${c.message}` : '',
            ),
          ),
        );
        el.replaceChildren(...content.childNodes);
      },
    );
  }

  const source = stream(
    `/api/release?namespace=${encodeURIComponent(namespace)}&name=${encodeURIComponent(name)}`,
    { release: render },
  );
  return () => source.close();
}

/**
 * section is a titled part of the page.
 * @param {string} title
 * @param {HTMLElement} content
 * @param {string} id
 */
function section(title, content, id) {
  return h('section', { 'aria-labelledby': `s-${id}`, id: id }, h('h3', { id: `s-${id}` }, title), content);
}

/**
 * renderResources groups resources by kind (worst kind first keeps spec order inside a kind).
 * @param {HTMLElement} container
 * @param {Resource[]} resources
 */
function renderResources(container, resources) {
  /** @type {Map<string, Resource[]>} */
  const groups = new Map();
  for (const r of resources) {
    const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
    groups.set(kind, [...(groups.get(kind) ?? []), r]);
  }
  keyed(
    container,
    [...groups.entries()],
    ([kind]) => kind,
    () => h('section', { class: 'kind' }, h('h4'), h('ul', { class: 'resources' })),
    (el, [kind, items]) => {
      const [title, list] = /** @type {HTMLElement[]} */ ([...el.children]);
      if (!title || !list) return;
      text(title, `${kind} (${items.length})`);
      keyed(list, items, (r) => r.id, createResource, updateResource);
    },
  );
  if (resources.length === 0) container.replaceChildren(h('p', { class: 'muted' }, 'No resources.'));
}

/** @param {Resource} r */
function createResource(r) {
  return h(
    'li',
    { 'data-id': r.id },
    h(
      'details',
      {},
      h(
        'summary',
        {},
        healthBadge(r.health),
        h('span', { class: 'obj' }),
        h('span', { class: 'id muted' }),
        h('span', { class: 'reason' }),
        h('span', { class: 'drift-mark' }),
        h('span', { class: 'msg' }),
      ),
      h('div', { class: 'more' }),
    ),
  );
}

/**
 * @param {HTMLElement} li
 * @param {Resource} r
 */
function updateResource(li, r) {
  const details = /** @type {HTMLElement} */ (li.firstElementChild);
  const [summary, more] = /** @type {HTMLElement[]} */ ([...details.children]);
  if (!summary || !more) return;
  const [badge, obj, id, reason, drift, msg] = /** @type {HTMLElement[]} */ ([...summary.children]);
  if (!badge || !obj || !id || !reason || !drift || !msg) return;
  setHealth(badge, r.health);
  text(obj, `${r.namespace ? `${r.namespace}/` : ''}${r.name}`);
  text(id, `id ${r.id}`);
  text(reason, r.reason ?? '');
  const drifted = r.drift && (r.drift.deleted || r.drift.fields.length > 0);
  text(drift, drifted ? '≠ drifted' : r.plan ? `plan: ${r.plan.action}` : '');
  text(msg, r.message ?? '');
  attr(li, 'data-health', r.health);
  const json = JSON.stringify([r.status, r.drift, r.plan, r.policy, r.lastObservedTime]);
  if (more.dataset.json === json) return;
  more.dataset.json = json;
  const parts = [];
  if (r.drift && drifted) {
    parts.push(
      h(
        'div',
        { class: 'drift' },
        h('h5', {}, 'Drift (changed by someone else; reported, not corrected)'),
        r.drift.deleted ? h('p', {}, 'The object was deleted by someone else.') : null,
        r.drift.fields.length
          ? h(
              'table',
              {},
              h(
                'thead',
                {},
                h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Now owned by')),
              ),
              h(
                'tbody',
                {},
                ...r.drift.fields.map((f) =>
                  h(
                    'tr',
                    { class: 'drift-field' },
                    h('td', {}, h('code', {}, f.path)),
                    h('td', {}, f.manager ?? '(no manager)'),
                  ),
                ),
              ),
            )
          : null,
      ),
    );
  }
  if (r.plan) {
    parts.push(
      h(
        'div',
        { class: 'plan' },
        h('h5', {}, `Plan (DryRun): ${r.plan.action}`),
        r.plan.fields.length ? h('ul', {}, ...r.plan.fields.map((f) => h('li', {}, h('code', {}, f)))) : null,
        r.plan.message ? h('p', {}, r.plan.message) : null,
      ),
    );
  }
  if (r.policy) {
    const items = [
      r.policy.apply ? `apply: ${r.policy.apply}` : '',
      r.policy.prune ? `prune: ${r.policy.prune}` : '',
      r.policy.ignoreFields.length ? `ignored fields: ${r.policy.ignoreFields.join(', ')}` : '',
    ].filter(Boolean);
    if (items.length)
      parts.push(h('div', { class: 'policy' }, h('h5', {}, 'Policy'), h('p', {}, items.join(' · '))));
  }
  parts.push(
    h(
      'div',
      { class: 'status' },
      h('h5', {}, `Live .status${r.lastObservedTime ? ` (observed ${r.lastObservedTime})` : ''}`),
      r.status === undefined
        ? h('p', { class: 'muted' }, 'none reported')
        : h('pre', { tabindex: '0' }, JSON.stringify(r.status, null, 2)),
    ),
    h('p', { class: 'muted' }, `${r.group ? `${r.group}/` : ''}${r.version} ${r.kind}`),
  );
  more.replaceChildren(...parts);
}

/**
 * @param {HTMLElement} list
 * @param {Ref[]} refs
 * @param {string} note
 */
function renderRefs(list, refs, note) {
  keyed(
    list,
    refs,
    (r) => `${r.group}/${r.kind}/${r.namespace ?? ''}/${r.name}`,
    () => h('li'),
    (li, r) =>
      text(
        li,
        `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}${r.id ? ` (id ${r.id})` : ''}${r.reason ? `: ${r.reason}` : note ? `: ${note}` : ''}`,
      ),
  );
}
