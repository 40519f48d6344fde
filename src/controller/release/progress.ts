/**
 * Progress of a long first pass: a Release applied for the first time shows no status until its
 * whole first pass is done (seconds for a few dozen objects on a slow data plane). A first pass of
 * at least PROGRESS_MIN_OBJECTS objects writes its progress at each quarter ("applied 15 of 59"),
 * so `kubectl release get -w` and the web view move: at most three extra status writes, on the
 * first pass only, never in the steady state.
 */
import type { Logger } from 'pino';
import { ConditionTypes, Reasons } from '../../api/v1alpha1/constants.ts';
import type { ConditionInput } from './status.ts';

/** PROGRESS_MIN_OBJECTS is the size of a first pass from which its progress is written. */
export const PROGRESS_MIN_OBJECTS = 20;

/** PROGRESS_STEPS is into how many parts a first pass is cut: a write at each boundary but the last. */
export const PROGRESS_STEPS = 4;

/**
 * progressMarks are the counts of objects done at which a first pass of `total` objects writes
 * its progress: none below PROGRESS_MIN_OBJECTS, else each quarter short of the end.
 */
export function progressMarks(total: number): number[] {
  if (total < PROGRESS_MIN_OBJECTS) return [];
  return Array.from({ length: PROGRESS_STEPS - 1 }, (_, i) => Math.ceil((total * (i + 1)) / PROGRESS_STEPS));
}

/** progressConditions are ResourcesApplied and Ready while a first pass is under way. */
export function progressConditions(done: number, total: number): [ConditionInput, ConditionInput] {
  const applied: ConditionInput = {
    type: ConditionTypes.resourcesApplied,
    status: 'False',
    reason: Reasons.applying,
    message: `first pass under way: applied ${done} of ${total} resources; health is reported once every resource was applied`,
  };
  return [applied, { ...applied, type: ConditionTypes.ready }];
}

/**
 * FirstPassProgress counts the objects of a first pass as the apply step reports them and writes
 * the progress at each mark, one write at a time (a mark reached while a write is under way is
 * written after it, with the count of its mark). A failed progress write is only logged: the status
 * written at the end of the pass says everything.
 */
export class FirstPassProgress {
  private done = 0;
  private readonly marks: number[];
  private chain: Promise<void> = Promise.resolve();
  private writes = 0;

  constructor(
    private readonly total: number,
    private readonly write: (done: number, total: number) => Promise<void>,
    private readonly logger: Logger,
  ) {
    this.marks = progressMarks(total);
  }

  /** step counts one object done, writing the progress when it reaches the next mark. */
  step(): void {
    this.done++;
    if (this.marks[0] === undefined || this.done < this.marks[0]) return;
    while (this.marks[0] !== undefined && this.done >= this.marks[0]) this.marks.shift();
    // The count of this mark, not the one reached by the write's turn: a write never says that every
    // object is done (the final status says that), and progress never reads as complete while the
    // health of the objects is not reported yet.
    const done = this.done;
    this.writes++;
    this.chain = this.chain.then(() =>
      this.write(done, this.total).catch((err: unknown) =>
        this.logger.debug({ err }, 'progress of the first pass not written; the final status follows'),
      ),
    );
  }

  /** settled resolves once every progress write has finished, so the final status is written last. */
  async settled(): Promise<number> {
    await this.chain;
    return this.writes;
  }
}
