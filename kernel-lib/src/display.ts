/**
 * Rich output in tslab notebooks, plain text elsewhere. tslab is not a dependency: when the
 * code runs inside a tslab kernel, `require('tslab')` finds the kernel's own module.
 */
interface TslabDisplay {
  html(s: string): void;
  text(s: string): void;
}
interface Tslab {
  newDisplay(): TslabDisplay;
  display: TslabDisplay;
}

function tslab(): Tslab | null {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const t = require('tslab') as Tslab;
    // Outside a running kernel tslab has no display channel (it throws "Not ready" on use).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const channel = (require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown }).lastWriteDisplayData;
    return channel ? t : null;
  } catch {
    return null;
  }
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** A display that updates in place: a progress bar and a status line. */
export interface Progress {
  update(fraction: number, status?: string): void;
  done(status: string): void;
}

/**
 * Shows progress of long work: an updating bar in a notebook, lines on stderr elsewhere.
 *
 * @example
 * const p = progress('Materializing user_features');
 * p.update(0.5, '1,000 rows');
 * p.done('done: 2,000 rows');
 */
export function progress(title: string): Progress {
  const t = tslab();
  let handle: TslabDisplay | null = null;
  try {
    handle = t ? t.newDisplay() : null;
  } catch {
    handle = null;
  }
  const render = (fraction: number, status: string, finished: boolean) => {
    const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
    if (handle) {
      handle.html(
        `<div style="font-family:var(--jp-ui-font-family,sans-serif);font-size:13px">` +
          `<b>${escapeHtml(title)}</b> <span>${escapeHtml(status)}</span>` +
          `<div style="background:#e0e0e0;width:320px;height:8px;border-radius:4px;margin-top:4px">` +
          `<div style="background:${finished ? '#2e7d32' : '#1976d2'};width:${pct * 3.2}px;height:8px;border-radius:4px"></div></div></div>`,
      );
    } else {
      process.stderr.write(`${title}: ${pct}% ${status}\n`);
    }
  };
  let last = -1;
  return {
    update(fraction, status = '') {
      const pct = Math.round(fraction * 100);
      if (pct === last && !handle) return;
      last = pct;
      render(fraction, status, false);
    },
    done(status) {
      render(1, status, true);
    },
  };
}

/**
 * Shows rows as an HTML table in a notebook (text elsewhere).
 *
 * @example
 * showTable([{ metric: 'auc', value: 0.74 }]);
 */
export function showTable(rows: Record<string, unknown>[], caption?: string): void {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: unknown) =>
    typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : v.toPrecision(6)
      : v === null || v === undefined
        ? ''
        : String(v);
  const t = tslab();
  if (t) {
    const head = cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
    const body = rows.map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(fmt(r[c]))}</td>`).join('')}</tr>`).join('');
    t.display.html(
      `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`,
    );
  } else {
    if (caption) process.stdout.write(`${caption}\n`);
    process.stdout.write(
      [cols.join('\t'), ...rows.map((r) => cols.map((c) => fmt(r[c])).join('\t'))].join('\n') + '\n',
    );
  }
}
