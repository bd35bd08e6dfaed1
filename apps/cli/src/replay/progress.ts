/**
 * One status line on stderr, rewritten in place: count, rate, ETA. Quiet when stderr is not a terminal, except at the
 * end.
 */
export class Progress {
  private readonly start = Date.now();
  private last = 0;
  count = 0;

  /** `total` may be set later (a count running alongside the work); the ETA shows once it is known. */
  constructor(
    private readonly label: string,
    public total: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly unit = 'events',
  ) {}

  tick(n = 1): void {
    this.count += n;
    const now = Date.now();
    if (now - this.last >= 500) {
      this.last = now;
      if (this.out.isTTY) this.out.write(`\r${this.line()}`);
    }
  }

  done(): string {
    const line = this.line();
    this.out.write(`${this.out.isTTY ? '\r' : ''}${line}\n`);
    return line;
  }

  get rate(): number {
    return this.count / Math.max(0.001, (Date.now() - this.start) / 1000);
  }

  private line(): string {
    const rate = this.rate;
    const eta = this.total > this.count && rate > 0 ? `, ETA ${Math.ceil((this.total - this.count) / rate)} s` : '';
    return `${this.label}: ${this.count.toLocaleString('en')}/${this.total.toLocaleString('en')} ${this.unit} (${Math.round(rate).toLocaleString('en')} ${this.unit}/s${eta})`;
  }
}
