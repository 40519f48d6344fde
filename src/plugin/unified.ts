/**
 * A unified diff of two texts, line by line: Myers' O(ND) shortest edit script after trimming the
 * common head and tail, and hunks with three lines of context in the format of `diff -u`. The
 * search is bounded: past MAX_EDIT_DISTANCE differences (a large object rewritten) the middle is
 * shown as removed and added whole, still a correct diff, with memory bounded. Pure.
 */

/** Edit is one line of an edit script: kept (' '), removed ('-') or added ('+'). */
export interface Edit {
  op: ' ' | '-' | '+';
  line: string;
}

/** MAX_EDIT_DISTANCE bounds the Myers search (its memory grows with the square of the distance). */
export const MAX_EDIT_DISTANCE = 2000;

/** diffLines returns a shortest edit script turning `a` into `b` (bounded, see MAX_EDIT_DISTANCE). */
export function diffLines(
  a: readonly string[],
  b: readonly string[],
  maxDistance = MAX_EDIT_DISTANCE,
): Edit[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const keep = (lines: readonly string[]): Edit[] => lines.map((line) => ({ op: ' ', line }));
  const middle = myers(midA, midB, maxDistance) ?? [
    ...midA.map((line): Edit => ({ op: '-', line })),
    ...midB.map((line): Edit => ({ op: '+', line })),
  ];
  return [...keep(a.slice(0, head)), ...middle, ...keep(a.slice(a.length - tail))];
}

/** myers is the greedy forward search with a trace for backtracking; undefined past maxDistance. */
function myers(a: readonly string[], b: readonly string[], maxDistance: number): Edit[] | undefined {
  const n = a.length;
  const m = b.length;
  if (n === 0) return b.map((line) => ({ op: '+', line }));
  if (m === 0) return a.map((line) => ({ op: '-', line }));
  const limit = Math.min(n + m, maxDistance);
  // v[k] is the furthest x reached on diagonal k (= x - y); trace[d] is v before step d, kept only
  // for diagonals -d..d so the trace costs O(D²), not O(D·(N+M)).
  const offset = limit + 1;
  const v = new Int32Array(2 * limit + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= limit; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      const down = k === -d || (k !== d && (v[offset + k - 1] ?? 0) < (v[offset + k + 1] ?? 0));
      let x = down ? (v[offset + k + 1] ?? 0) : (v[offset + k - 1] ?? 0) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(a, b, trace, d);
    }
  }
  return undefined;
}

function backtrack(a: readonly string[], b: readonly string[], trace: Int32Array[], depth: number): Edit[] {
  const edits: Edit[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = depth; d >= 0; d--) {
    const saved = trace[d] ?? new Int32Array(0);
    // saved holds diagonals -d-1..d+1 of v before step d.
    const at = (k: number) => saved[k + d + 1] ?? 0;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: ' ', line: a[x - 1] ?? '' });
      x--;
      y--;
    }
    if (d > 0) {
      if (x === prevX) edits.push({ op: '+', line: b[y - 1] ?? '' });
      else edits.push({ op: '-', line: a[x - 1] ?? '' });
    }
    x = prevX;
    y = prevY;
  }
  return edits.reverse();
}

/** splitLines splits a text into lines; a final newline ends the last line rather than starting one. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/**
 * unifiedDiff renders the differences of two texts as `diff -u` does (`---`/`+++` headers, `@@`
 * hunks with `context` lines around each change); the empty string when they are equal.
 */
export function unifiedDiff(a: string, b: string, labels: { from: string; to: string }, context = 3): string {
  const edits = diffLines(splitLines(a), splitLines(b));
  const changes: number[] = [];
  edits.forEach((e, i) => {
    if (e.op !== ' ') changes.push(i);
  });
  if (changes.length === 0) return '';
  // Line numbers before each edit, for the hunk headers.
  const aBefore: number[] = [];
  const bBefore: number[] = [];
  let ai = 0;
  let bi = 0;
  for (const e of edits) {
    aBefore.push(ai);
    bBefore.push(bi);
    if (e.op !== '+') ai++;
    if (e.op !== '-') bi++;
  }
  const out = [`--- ${labels.from}`, `+++ ${labels.to}`];
  for (let h = 0; h < changes.length; h++) {
    const first = changes[h] ?? 0;
    let last = first;
    while (h + 1 < changes.length && (changes[h + 1] ?? 0) - last - 1 <= 2 * context)
      last = changes[++h] ?? last;
    const start = Math.max(0, first - context);
    const stop = Math.min(edits.length - 1, last + context);
    const hunk = edits.slice(start, stop + 1);
    const aLen = hunk.filter((e) => e.op !== '+').length;
    const bLen = hunk.filter((e) => e.op !== '-').length;
    const range = (before: number, len: number) =>
      `${len === 0 ? before : before + 1}${len === 1 ? '' : `,${len}`}`;
    out.push(`@@ -${range(aBefore[start] ?? 0, aLen)} +${range(bBefore[start] ?? 0, bLen)} @@`);
    for (const e of hunk) out.push(`${e.op}${e.line}`);
  }
  return `${out.join('\n')}\n`;
}
