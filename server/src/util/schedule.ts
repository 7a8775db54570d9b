import { Cron } from 'croner';

/** Parses a view's cron expression (5 fields, or 6 with seconds first; UTC); throws with croner's reason. */
export function parseSchedule(expr: string): Cron {
  return new Cron(expr, { paused: true, timezone: 'Etc/UTC', mode: '5-or-6-parts' });
}

/** Seconds between the next two fire times: the view's expected update frequency. */
export function scheduleIntervalSeconds(expr: string, from = new Date()): number | null {
  const [a, b] = parseSchedule(expr).nextRuns(2, from);
  return a && b ? (b.getTime() - a.getTime()) / 1000 : null;
}
