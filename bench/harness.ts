/**
 * The one way a benchmark ends: with its report printed and written (exit 0), or with a non-zero exit and
 * a reason. Services and child processes it started are stopped on every path: success, a thrown error,
 * the watchdog, SIGINT/SIGTERM, and an event loop that empties while the body still awaits something that
 * can never settle (node would otherwise exit 0 with no report — the agents bench did exactly that).
 *
 * No path aliases and no Nest here: bench/harness.spec.ts transpiles this file alone and runs it in a
 * real child process.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BenchOptions {
  /** Where the raw JSON report goes (git-ignored bench/results/ normally). */
  readonly outPath: string;
  /** The whole run's upper bound; past it the run fails (and stops what it started). */
  readonly watchdogMs: number;
}

type Cleanup = { readonly what: string; readonly fn: () => void };

/** How long the end waits for killed children to be reaped before it exits anyway (a child stuck in D state). */
const REAP_MS = 5_000;

export class BenchRun {
  private readonly cleanups: Cleanup[] = [];
  private readonly exits: Promise<void>[] = [];
  private reported = false;
  private ended = false;

  constructor(
    readonly name: string,
    private readonly opts: BenchOptions,
  ) {}

  /**
   * Registers a synchronous stop (execFileSync of a stop script, child.kill): run once, latest first, on every
   * path. Synchronous on purpose: it must also work from a signal handler and from process 'exit'.
   */
  onCleanup(what: string, fn: () => void): void {
    this.cleanups.push({ what, fn });
  }

  /**
   * A child process the run started: killed on every path, and reaped (its exit awaited) before the run exits on every
   * path but a bare process.exit by someone else. A child left to be reaped after we exit is an orphan, and a
   * container's PID 1 may reap it late or never: it stays behind as a zombie.
   */
  onChild(what: string, child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
    const ended = () => child.exitCode !== null || child.signalCode !== null;
    this.exits.push(ended() ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));
    this.onCleanup(what, () => void (ended() || child.kill(signal)));
  }

  /** Prints the report to stdout and writes the JSON; only after both the run may end with status 0. */
  report(text: string, json: unknown): void {
    process.stdout.write(`${text}\n`);
    mkdirSync(dirname(this.opts.outPath), { recursive: true });
    writeFileSync(this.opts.outPath, `${JSON.stringify(json, null, 2)}\n`);
    process.stderr.write(`[${this.name}] results written to ${this.opts.outPath}\n`);
    this.reported = true;
  }

  get hasReported(): boolean {
    return this.reported;
  }

  /** Stops everything registered (each step isolated: one failing stop does not skip the others). */
  stopAll(): void {
    while (this.cleanups.length) {
      const c = this.cleanups.pop()!;
      try {
        c.fn();
      } catch (e) {
        process.stderr.write(`[${this.name}] could not stop ${c.what}: ${(e as Error)?.message ?? e}\n`);
      }
    }
  }

  /**
   * Ends the process: status 0 only when the report was printed and written. Stops everything, then exits once every
   * child registered with onChild has been reaped (at most REAP_MS). Only the first call counts.
   */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.stopAll();
    const ok = error === undefined && this.reported;
    if (!ok) {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the last resort for a thrown non-Error
      const thrown = error === undefined ? undefined : ((error as Error)?.stack ?? String(error));
      const reason = thrown ?? 'the benchmark returned without printing and writing its report';
      process.stderr.write(`[${this.name}] FAILED: ${reason}\n`);
    }
    const exit = () => process.exit(ok ? 0 : 1);
    // Not unref'd: from 'beforeExit' this timer is what keeps the loop alive until the children's exits arrive.
    const timer = setTimeout(() => {
      process.stderr.write(`[${this.name}] a child was not reaped within ${REAP_MS} ms\n`);
      exit();
    }, REAP_MS);
    void Promise.all(this.exits).then(() => {
      clearTimeout(timer);
      exit();
    });
  }
}

/**
 * Runs a benchmark body under the rules above. The body registers what it starts with run.onCleanup and
 * calls run.report(...) once it has figures.
 */
export function runBench(name: string, opts: BenchOptions, body: (run: BenchRun) => Promise<void>): BenchRun {
  const run = new BenchRun(name, opts);
  const watchdog = setTimeout(
    () => run.end(new Error(`did not finish within ${Math.round(opts.watchdogMs / 1000)} s`)),
    opts.watchdogMs,
  );
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(sig, () => run.end(new Error(`interrupted by ${sig}`)));
  // Whoever calls process.exit (an old fail path, a library), registered services still stop.
  process.once('exit', () => run.stopAll());
  // The event loop emptied while the body was still pending: nothing can settle it any more.
  process.once('beforeExit', () =>
    run.end(new Error('the event loop emptied before the report (an awaited promise can never settle)')),
  );
  body(run).then(
    () => run.end(),
    (e: unknown) => run.end(e ?? new Error('rejected without a reason')),
  );
  return run;
}
