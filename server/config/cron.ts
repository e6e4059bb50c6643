import { Cron } from 'croner';

/** A pipeline's timer as the schema gives it (defaults applied). */
export interface TimerSpec {
  cron: string;
  timezone: string;
  onlyOnChanges: boolean;
}

/**
 * What is wrong with a cron expression, if anything: 5 fields (minute hour day-of-month month
 * day-of-week) or 6 with seconds first, as GoCD's timers have them; read by croner.
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6)
    return `must have 5 fields (minute hour day month weekday) or 6 with seconds first, not ${fields}`;
  try {
    const cron = new Cron(expression, { paused: true });
    if (cron.nextRun(new Date(0)) === null) return 'never fires';
    return undefined;
  } catch (error) {
    return String((error as Error).message).replace(/^CronPattern: /, '');
  }
}

/** Whether a name is a time zone this server knows (IANA, e.g. `Europe/Berlin`, or `UTC`). */
export function knownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * The first firing of a timer strictly after `after`, in its time zone; null when it never fires
 * again. Pure: the clock is the caller's.
 */
export function nextFiring(timer: Pick<TimerSpec, 'cron' | 'timezone'>, after: Date): Date | null {
  const cron = new Cron(timer.cron, { paused: true, timezone: timer.timezone });
  return cron.nextRun(after);
}
