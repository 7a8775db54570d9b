/**
 * A one-line progress bar on stderr for long CLI work; plain lines when stderr is not a
 * terminal (CI logs), at most one per 10%.
 */
export class ProgressLine {
  private lastDecile = -1;
  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, total: number, what = ''): void {
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    if (this.stream.isTTY) {
      const width = 30;
      const filled = Math.round(frac * width);
      this.stream.write(
        `\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round(frac * 100)}% ${what}`.padEnd(
          100,
        ),
      );
    } else {
      const decile = Math.floor(frac * 10);
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(`${this.label}: ${Math.round(frac * 100)}% ${what}\n`);
      }
    }
  }

  done(message: string): void {
    this.stream.write(this.stream.isTTY ? `\r${message}`.padEnd(100) + '\n' : `${message}\n`);
  }
}
