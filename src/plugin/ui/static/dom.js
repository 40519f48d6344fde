// Small DOM helpers of the web view: element creation, text that is written only when it changes,
// and keyed list reconciliation, so a live update touches only the nodes whose data changed.

/**
 * h creates an element: attributes (`class`, `data-*`, `aria-*`, others; `on*` functions become
 * listeners) and children (strings become text nodes; null and false are skipped).
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/**
 * text sets an element's text only when it differs (no layout work for unchanged cells).
 * @param {Element} el
 * @param {string} value
 */
export function text(el, value) {
  if (el.textContent !== value) el.textContent = value;
}

/**
 * attr sets or removes an attribute only when it differs.
 * @param {Element} el
 * @param {string} name
 * @param {string | null} value
 */
export function attr(el, name, value) {
  if (value === null) {
    if (el.hasAttribute(name)) el.removeAttribute(name);
  } else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}

/**
 * keyed makes the children of a container follow a list: an element per key, created once,
 * updated in place, moved only when its position changed, removed when its key is gone.
 * @template T
 * @param {Element} container
 * @param {T[]} items
 * @param {(item: T) => string} keyOf
 * @param {(item: T) => HTMLElement} create
 * @param {(el: HTMLElement, item: T) => void} update
 */
export function keyed(container, items, keyOf, create, update) {
  /** @type {Map<string, HTMLElement>} */
  const existing = new Map();
  for (const child of Array.from(container.children)) {
    const key = /** @type {HTMLElement} */ (child).dataset.key;
    if (key !== undefined) existing.set(key, /** @type {HTMLElement} */ (child));
  }
  let cursor = container.firstElementChild;
  for (const item of items) {
    const key = keyOf(item);
    let el = existing.get(key);
    if (el) existing.delete(key);
    else {
      el = create(item);
      el.dataset.key = key;
    }
    update(el, item);
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const el of existing.values()) el.remove();
}

/** HEALTH_ICONS pair each health with a symbol, so health never rests on colour alone. */
export const HEALTH_ICONS = {
  Healthy: '✓',
  Progressing: '↻',
  Degraded: '✕',
  Suspended: '‖',
  Unknown: '?',
};

/** HEALTH_ORDER is worst first, as the pages sort. */
export const HEALTH_ORDER = ['Degraded', 'Unknown', 'Progressing', 'Suspended', 'Healthy'];

/**
 * healthBadge is an icon and the health's name, coloured by a class.
 * @param {string} health
 */
export function healthBadge(health) {
  const el = h('span', { class: 'health' });
  setHealth(el, health);
  return el;
}

/**
 * setHealth updates a badge made by healthBadge.
 * @param {HTMLElement} el
 * @param {string} health
 */
export function setHealth(el, health) {
  const known = health in HEALTH_ICONS ? health : 'Unknown';
  const value = `${HEALTH_ICONS[/** @type {keyof typeof HEALTH_ICONS} */ (known)]} ${health}`;
  if (el.dataset.health === health && el.textContent === value) return;
  el.dataset.health = health;
  el.className = `health h-${known}`;
  el.textContent = value;
}

/**
 * age renders the time since an RFC 3339 timestamp as kubectl does: 12s, 5m, 3h, 2d.
 * @param {string | undefined} since
 * @param {number} now
 */
export function age(since, now) {
  const t = since ? Date.parse(since) : NaN;
  if (Number.isNaN(t)) return '';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/**
 * stream opens a server-sent event stream and reports its state in the header.
 * @param {string} url
 * @param {Record<string, (data: any) => void>} handlers
 * @returns {EventSource}
 */
export function stream(url, handlers) {
  const source = new EventSource(url);
  const status = document.getElementById('connection');
  source.addEventListener('open', () => {
    if (status) {
      text(status, 'live');
      status.dataset.state = 'live';
    }
  });
  source.addEventListener('error', () => {
    if (status) {
      text(status, 'reconnecting…');
      status.dataset.state = 'down';
    }
  });
  for (const [event, handler] of Object.entries(handlers)) {
    source.addEventListener(event, (e) => handler(JSON.parse(/** @type {MessageEvent} */ (e).data)));
  }
  return source;
}
