import type { ViewMetadata } from '@plinth/schema';

/** "42 s", "5 min", "3 h", "2 d": coarse, as a sidebar has room for. */
export function humanDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3_600) return `${Math.round(s / 60)} min`;
  if (s < 86_400) return `${Math.round(s / 3_600)} h`;
  return `${Math.round(s / 86_400)} d`;
}

/** "812 B", "1.2 MB": decimal units, one decimal. */
export function humanBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * The lines a catalog entry shows about a view's data: size, how fresh it is and how often it
 * is updated. Stale views say so first, since that is what decides whether to use them.
 */
export function describeFreshness(m: ViewMetadata, now: Date = new Date()): { lines: string[]; stale: boolean } {
  const lines: string[] = [];
  const f = m.freshness;
  const stale = f.stale === true;
  if (stale) lines.push(`Stale: nothing committed for over two schedule intervals`);
  if (!m.offline) lines.push('Not materialized yet');
  else {
    const size = m.offline.bytes === null ? '' : ` · ${humanBytes(m.offline.bytes)}`;
    lines.push(`${m.offline.rows.toLocaleString('en-US')} rows${size}`);
    if (f.lastEventTime)
      lines.push(`Newest event ${humanDuration((now.getTime() - Date.parse(f.lastEventTime)) / 1000)} ago`);
  }
  if (f.schedule) {
    const every = f.updateFrequencySeconds ? `every ${humanDuration(f.updateFrequencySeconds)}` : `on ${f.schedule}`;
    const next = f.nextRunAt ? `, next in ${humanDuration((Date.parse(f.nextRunAt) - now.getTime()) / 1000)}` : '';
    lines.push(`Updates ${every} (${f.schedule} UTC)${next}`);
  } else lines.push('No schedule: updated by hand');
  if (m.lastRun?.status === 'failed') lines.push(`Last run failed: ${m.lastRun.error ?? 'unknown error'}`);
  return { lines, stale };
}
