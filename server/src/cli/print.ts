/** How the CLI prints: aligned tables and indented JSON on stdout. */

/** Columns padded to their widest cell, two spaces apart; no trailing blanks. */
export function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((row) => (row[j] ?? '').length)));
  for (const row of [header, ...rows])
    process.stdout.write(`${row.map((c, j) => (c ?? '').padEnd(widths[j])).join('  ')}\n`.replace(/ +\n$/, '\n'));
}

/** A document as indented JSON (`--json`). */
export function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
}
