// The progress line on stderr while a scenario runs: rewritten in place on a terminal,
// one line every 5 s otherwise (a log file keeps a readable trace).

export interface ProgressState {
  readonly label: string;
  readonly elapsedS: number;
  readonly totalS: number;
  /** Completions in the last second. */
  readonly rate: number;
  readonly p99SoFarMs: number;
  readonly errors: number;
  readonly note?: string;
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? '-' : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));

export function progressLine(s: ProgressState): string {
  const head = `[${s.label}] ${Math.round(s.elapsedS)}/${Math.round(s.totalS)} s`;
  if (s.note !== undefined) return `${head}  ${s.note}`;
  return `${head}  ${Math.round(s.rate)}/s  p99 so far ${fmt(s.p99SoFarMs)} ms  errors ${s.errors}`;
}

export class Progress {
  readonly #tty = process.stderr.isTTY === true;
  #lastPrinted = 0;
  #open = false;
  #lastNote = '';

  show(state: ProgressState): void {
    const line = progressLine(state);
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      this.#open = true;
    } else if (Date.now() - this.#lastPrinted >= 5000 || this.#newPhase(state.note)) {
      process.stderr.write(`${line}\n`);
      this.#lastPrinted = Date.now();
    }
  }

  /** A note whose text before ':' differs from the last one's: a new phase, printed at once. */
  #newPhase(note: string | undefined): boolean {
    const head = note?.split(':')[0] ?? '';
    const changed = note !== undefined && head !== this.#lastNote;
    if (note !== undefined) this.#lastNote = head;
    return changed;
  }

  /** Ends the line in place (before other output). */
  end(): void {
    if (this.#open) process.stderr.write('\n');
    this.#open = false;
  }

  log(text: string): void {
    this.end();
    process.stderr.write(`${text}\n`);
  }
}
