import { Cron } from 'croner';
import { getTimes } from 'suncalc';
import type { Trigger } from './rule.schema';

export type ScheduleTrigger = Extract<Trigger, { type: 'time' | 'cron' | 'sun' }>;

export interface Location {
  latitude: number;
  longitude: number;
}

const DAY_MS = 86_400_000;

/**
 * The next moment after `after` (Unix ms) at which a time, cron or sun trigger fires, in the
 * server's local time zone; undefined when it never does (no sunset near the poles in summer).
 */
export function nextOccurrence(trigger: ScheduleTrigger, after: number, location: Location | undefined): number | undefined {
  switch (trigger.type) {
    case 'time': {
      const [h = '0', m = '0', s = '0'] = trigger.at.split(':');
      return new Cron(`${Number(s)} ${Number(m)} ${Number(h)} * * *`, { paused: true }).nextRun(new Date(after))?.getTime();
    }
    case 'cron':
      return new Cron(trigger.expression, { paused: true }).nextRun(new Date(after))?.getTime();
    case 'sun': {
      if (!location) return undefined;
      // Today's event may be past; look a few days ahead for the first one still to come.
      for (let day = -1; day <= 3; day++) {
        const times = getTimes(new Date(after + day * DAY_MS), location.latitude, location.longitude);
        // Near the poles some days have no sunrise or sunset: suncalc gives an invalid Date.
        const at = times[trigger.event]?.getTime() ?? Number.NaN;
        if (Number.isFinite(at) && at + trigger.offset > after) return at + trigger.offset;
      }
      return undefined;
    }
  }
}
