/**
 * LiveView prints the demo's narration and keeps the Release table current: on a terminal the
 * table stays at the bottom and is redrawn in place (like `kubectl get -w` for the whole Release);
 * otherwise every change is one time-stamped line, readable in a CI log.
 */
import { changes, frame, renderView, type ReleaseView } from './table.ts';

/** Output is the stream LiveView writes to (process.stdout, or a test double). */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** LiveView owns the output while the demo runs. */
export class LiveView {
  /** tty tells whether the table is redrawn in place. */
  readonly tty: boolean;
  private readonly started = performance.now();
  private view: ReleaseView | undefined;
  /** shown is the table as last drawn on the terminal; its lines sit just above the cursor. */
  private shown: string[] = [];

  constructor(private readonly out: Output) {
    this.tty = out.isTTY === true;
  }

  /** log prints one line of narration above the table. */
  log(line = ''): void {
    if (!this.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    const table = this.shown;
    if (table.length === 0) this.out.write(`${line}\n`);
    else this.out.write(frame(table.length, []) + `${line}\n` + frame(0, table));
  }

  /** show takes a new state of the Release: redraws the table, or logs what changed. */
  show(view: ReleaseView): void {
    const prev = this.view;
    this.view = view;
    if (this.tty) {
      const lines = renderView(view, Math.max((this.out.columns ?? 120) - 1, 20));
      if (lines.join('\n') === this.shown.join('\n')) return;
      this.out.write(frame(this.shown.length, lines));
      this.shown = lines;
      return;
    }
    const at = `[${this.elapsed().toFixed(1).padStart(5)}s]`;
    for (const line of changes(prev, view)) this.out.write(`   ${at} ${line}\n`);
  }

  /** current returns the last state shown, rendered in full, for error messages. */
  current(): string {
    return this.view ? renderView(this.view).join('\n') : '(the Release was not observed yet)';
  }

  /** release stops showing the Release: a terminal's table is erased, and later output goes below. */
  release(): void {
    if (this.tty && this.shown.length > 0) this.out.write(frame(this.shown.length, []));
    this.shown = [];
    this.view = undefined;
  }

  /** elapsed returns the seconds since the view was created. */
  elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }
}
