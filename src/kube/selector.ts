/**
 * Selectors evaluated on our side: a watch or list asks the server for label- and field-selected
 * objects, and a data plane may answer with anything. An informer checks every object it is sent
 * against its own selectors, so a server that ignores them cannot fill the cache with objects the
 * controller never asked for. The grammar is Kubernetes' (`k=v`, `k==v`, `k!=v`, `k`, `!k`,
 * `k in (a,b)`, `k notin (a,b)`; fields `path=v`, `path==v`, `path!=v`); a selector we cannot read
 * matches nothing, so a mistake of ours shows as an empty cache rather than an unbounded one.
 */
import type { KubeObject } from '../api/object.ts';

/** Requirement is one term of a selector. */
export type Requirement =
  { op: 'in' | 'notin'; key: string; values: string[] } | { op: 'exists' | 'absent'; key: string };

/** Matcher tells whether an object is one a selector selects. */
export type Matcher = (obj: KubeObject) => boolean;

/** splitTerms splits a selector at the commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

/** parseTerm reads one term; undefined when it is not one we understand. */
function parseTerm(term: string, sets: boolean): Requirement | undefined {
  const set = /^([^\s!=()]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term);
  if (set) {
    if (!sets) return undefined;
    const values = (set[3] ?? '').split(',').map((v) => v.trim());
    return { op: set[2] as 'in' | 'notin', key: set[1] ?? '', values };
  }
  const eq = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s!=(),]*)$/.exec(term);
  if (eq) return { op: eq[2] === '!=' ? 'notin' : 'in', key: eq[1] ?? '', values: [eq[3] ?? ''] };
  if (!sets) return undefined;
  const absent = /^!\s*([^\s!=()]+)$/.exec(term);
  if (absent) return { op: 'absent', key: absent[1] ?? '' };
  if (/^[^\s!=()]+$/.test(term)) return { op: 'exists', key: term };
  return undefined;
}

/** satisfies tells whether a value (undefined: the key is absent) meets a requirement. */
function satisfies(req: Requirement, value: string | undefined): boolean {
  switch (req.op) {
    case 'in':
      return value !== undefined && req.values.includes(value);
    case 'notin':
      return value === undefined || !req.values.includes(value);
    case 'exists':
      return value !== undefined;
    case 'absent':
      return value === undefined;
  }
}

/** parseLabelSelector reads a label selector's terms, or undefined when one is unreadable. */
export function parseLabelSelector(selector: string): Requirement[] | undefined {
  return parse(selector, true);
}

/** parse reads a whole selector, or undefined when any term is unreadable. */
function parse(selector: string, sets: boolean): Requirement[] | undefined {
  const out: Requirement[] = [];
  for (const term of splitTerms(selector)) {
    const req = parseTerm(term, sets);
    if (!req) return undefined;
    out.push(req);
  }
  return out;
}

/** fieldValue reads a dotted field path of an object as the API server compares it (a string). */
function fieldValue(obj: KubeObject, path: string): string | undefined {
  let at: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  if (typeof at === 'string') return at;
  if (typeof at === 'number' || typeof at === 'boolean') return String(at);
  // An absent field compares as the empty string, as the API server's field sets do.
  return at === undefined || at === null ? '' : undefined;
}

/**
 * selectorMatcher builds the check of a label selector and a field selector together (either may
 * be absent: it then selects everything). An unreadable selector selects nothing.
 */
export function selectorMatcher(labelSelector?: string, fieldSelector?: string): Matcher {
  const labels = labelSelector ? parse(labelSelector, true) : [];
  const fields = fieldSelector ? parse(fieldSelector, false) : [];
  if (!labels || !fields) return () => false;
  if (labels.length === 0 && fields.length === 0) return () => true;
  return (obj) => {
    const own = obj.metadata?.labels ?? {};
    for (const req of labels) {
      if (!satisfies(req, Object.hasOwn(own, req.key) ? own[req.key] : undefined)) return false;
    }
    for (const req of fields) if (!satisfies(req, fieldValue(obj, req.key))) return false;
    return true;
  };
}
