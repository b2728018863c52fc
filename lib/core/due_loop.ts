/**
 * Running what is due, when it is due: the one loop behind escalation deadlines and the ends of
 * shelvings. Work is kept in the store, so every instance finds it whoever wrote it; each
 * instance runs it at the earliest due time it knows of and at least every `scanMs` (work
 * written by others), and concurrent requests for a run share one, followed by one more.
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** What a {@linkcode DueLoop} runs. */
export interface DueWork {
  /** Does what is due at `now`; how many things it moved on. */
  run(now: number): Promise<number>;
  /** When the earliest thing due after `now` is, if any is known. */
  next(now: number): Promise<number | undefined>;
}

/** Runs {@linkcode DueWork} at its due times and at least every `scanMs`, once started. */
export class DueLoop {
  readonly #clock: Clock;
  readonly #scanMs: number;
  readonly #work: DueWork;
  readonly #onError: (error: unknown) => void;
  #cancelWake: (() => void) | undefined;
  #wakeAt = Infinity;
  #scanning: Promise<number> | undefined;
  #again = false;
  #stopped = true;

  constructor(clock: Clock, scanMs: number, work: DueWork, onError: (error: unknown) => void) {
    this.#clock = clock;
    this.#scanMs = scanMs;
    this.#work = work;
    this.#onError = onError;
  }

  /** Runs now, then at each due time and at least every `scanMs`, until {@linkcode stop}. */
  start(): void {
    this.#stopped = false;
    this.#wake(this.#clock.now());
  }

  /** Stops running, and waits for a run in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#again = false;
    this.#cancelWake?.();
    this.#cancelWake = undefined;
    this.#wakeAt = Infinity; // a later start schedules afresh
    await this.#scanning?.catch(() => {});
  }

  /** Makes sure a run comes by `at` (something this instance just wrote). */
  wake(at: number): void {
    if (!this.#stopped) this.#wake(at);
  }

  /**
   * Runs what is due now; resolves with how many things were moved on. Concurrent calls share
   * one run, followed by one more.
   */
  scan(): Promise<number> {
    if (this.#scanning) {
      this.#again = true;
      return this.#scanning;
    }
    const run = this.#scan().finally(() => {
      this.#scanning = undefined;
      // Stopped meanwhile: the run asked for is not made (`stop` waits for none after it).
      if (this.#again && !this.#stopped) {
        this.#again = false;
        void this.scan().catch((error) => this.#onError(error));
      }
    });
    this.#scanning = run;
    return run;
  }

  #wake(at: number): void {
    if (at >= this.#wakeAt) return;
    this.#cancelWake?.();
    this.#wakeAt = at;
    this.#cancelWake = this.#clock.after(at - this.#clock.now(), () => {
      this.#wakeAt = Infinity;
      this.#cancelWake = undefined;
      this.scan().catch((error) => this.#onError(error));
    });
  }

  async #scan(): Promise<number> {
    const now = this.#clock.now();
    try {
      return await this.#work.run(now);
    } finally {
      if (!this.#stopped) {
        const next = await this.#work.next(now).catch(() => undefined);
        // Stopped while that was read: no timer outlives `stop`.
        if (!this.#stopped) {
          this.#wake(Math.min(next ?? Infinity, this.#clock.now() + this.#scanMs));
        }
      }
    }
  }
}
