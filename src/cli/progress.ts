/**
 * Progress for long work: a bar on a terminal, plain lines otherwise (CI logs, pipes),
 * nothing at all with --json or --quiet so machine output stays clean.
 */
import cliProgress from 'cli-progress';

export interface ProgressReporter {
  /** Start or switch to a step (a file, a phase). */
  step(label: string): void;
  /** Fraction done of the current step, 0..1. */
  update(fraction: number): void;
  done(): void;
}

export function createProgress(opts: { enabled: boolean; stream?: NodeJS.WriteStream }): ProgressReporter {
  const stream = opts.stream ?? process.stderr;
  if (!opts.enabled) return { step() {}, update() {}, done() {} };
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: '{label} [{bar}] {percentage}%',
        hideCursor: true,
        clearOnComplete: false,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      step(label) {
        if (!started) {
          bar.start(100, 0, { label });
          started = true;
        } else bar.update(0, { label });
      },
      update(fraction) {
        if (started) bar.update(Math.round(fraction * 100));
      },
      done() {
        if (started) bar.stop();
        started = false;
      },
    };
  }
  let current = '';
  let lastDecile = -1;
  return {
    step(label) {
      current = label;
      lastDecile = -1;
      stream.write(`${label}\n`);
    },
    update(fraction) {
      const decile = Math.floor(fraction * 10);
      if (decile > lastDecile && decile > 0 && decile < 10) {
        lastDecile = decile;
        stream.write(`${current}: ${decile * 10}%\n`);
      }
    },
    done() {},
  };
}
