/**
 * ISO 8601 durations for SLAs and business-day arithmetic (weekends and holidays skipped), in a
 * time zone. Browser-safe. Years and months are refused: their length is not a number of days.
 */
export interface SlaDuration {
  days: number;
  /** The time part (hours, minutes, seconds) in milliseconds. */
  ms: number;
}

const DURATION = /^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const DAY_MS = 86_400_000;

/** `P2D`, `PT4H`, `P1W` (7 days, or 5 business days), `P1DT12H`; undefined when not of that shape. */
export function parseSlaDuration(text: string): SlaDuration | undefined {
  const m = DURATION.exec(text);
  if (!m) return undefined;
  const [, w, d, h, min, s] = m;
  return { days: Number(w ?? 0) * 7 + Number(d ?? 0), ms: (Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000 };
}

export interface BusinessCalendar {
  /** IANA time zone in which dates and weekdays are read (default UTC). */
  timeZone?: string;
  /** Days of the week off, 0 = Sunday (default Saturday and Sunday). */
  weekend?: readonly number[];
  /** Dates off, `YYYY-MM-DD` in the calendar's time zone. */
  holidays?: ReadonlySet<string> | readonly string[];
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/**
 * Every time zone's offset is a multiple of 15 minutes, so the local date and weekday are the
 * same throughout a UTC quarter hour: remembered per quarter hour (Intl formatting is slow, and a
 * due time is computed on every transition).
 */
const QUARTER_HOUR = 900_000;
/** Before 1972 some zones still had offsets of odd minutes and seconds: not remembered. */
const REMEMBER_FROM = Date.UTC(1972, 0, 1);
const remembered = new Map<string, Map<number, { date: string; weekday: number }>>();

function localParts(at: Date, timeZone: string): { date: string; weekday: number } {
  if (at.getTime() < REMEMBER_FROM) return formattedParts(at, timeZone);
  const quarter = Math.floor(at.getTime() / QUARTER_HOUR);
  let zone = remembered.get(timeZone);
  if (!zone) remembered.set(timeZone, (zone = new Map()));
  let parts = zone.get(quarter);
  if (!parts) {
    if (zone.size >= 10_000) zone.clear();
    zone.set(quarter, (parts = formattedParts(at, timeZone)));
  }
  return parts;
}

function formattedParts(at: Date, timeZone: string): { date: string; weekday: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', weekday: 'short' });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!);
  return { date: `${parts.year}-${parts.month}-${parts.day}`, weekday };
}

export function isBusinessDay(at: Date, calendar: BusinessCalendar): boolean {
  const { date, weekday } = localParts(at, calendar.timeZone ?? 'UTC');
  const weekend = calendar.weekend ?? [0, 6];
  if (weekend.includes(weekday)) return false;
  const holidays = calendar.holidays;
  if (!holidays) return true;
  return !(holidays instanceof Set ? holidays.has(date) : (holidays as readonly string[]).includes(date));
}

/**
 * `start` plus `duration` counting only business days: each day of the duration moves to the
 * next business day at the same time of day; the time part is then added, and a result on a
 * day off moves to the next business day. So P2D from Friday 10:00 is Tuesday 10:00.
 */
export function addBusinessDuration(start: Date, duration: SlaDuration, calendar: BusinessCalendar): Date {
  let t = start.getTime();
  for (let left = duration.days, guard = 0; left > 0 && guard < 3660; guard++) {
    t += DAY_MS;
    if (isBusinessDay(new Date(t), calendar)) left--;
  }
  t += duration.ms;
  for (let guard = 0; !isBusinessDay(new Date(t), calendar) && guard < 366; guard++) t += DAY_MS;
  return new Date(t);
}

/** `start` plus `duration` in elapsed time (every day counts). */
export function addElapsedDuration(start: Date, duration: SlaDuration): Date {
  return new Date(start.getTime() + duration.days * DAY_MS + duration.ms);
}
