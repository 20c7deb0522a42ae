import { Cron } from 'croner';
import parseDuration from 'parse-duration';
import { z } from 'zod';

/** The rule format's version; a stored rule of an older version is migrated when it loads. */
export const RULE_VERSION = 1;

/** "2m", "90s", "1h 30m", "500ms", or milliseconds as a number. */
export const DurationSchema = z.union([z.number().int().nonnegative(), z.string().min(1)]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as "90s", "2m" or "1h 30m"' });
    return z.NEVER;
  }
  return Math.round(ms);
});

const entityId = z.string().regex(/^[^.\s]+\.[^\s]+$/, 'expected an entity id such as "gate-1.door"');
const deviceId = z.string().min(1);
const stateValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** One value, or any of several. */
const stateMatch = z.union([stateValue, z.array(stateValue).min(1)]);
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'expected a time of day such as "07:30" or "22:15:00"');
const weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);

const thresholds = {
  above: z.number().optional(),
  below: z.number().optional(),
};
const hasThreshold = (t: { above?: number | undefined; below?: number | undefined }): boolean =>
  t.above !== undefined || t.below !== undefined;

export const TriggerSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('state'),
      entity: entityId,
      to: stateMatch.optional(),
      from: stateMatch.optional(),
      /** The new state must hold this long before the rule fires; a restart does not lose the wait. */
      for: DurationSchema.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('numeric'),
      entity: entityId,
      ...thresholds,
      /** Once fired, the value must come back past the threshold by this much before it can fire again. */
      hysteresis: z.number().nonnegative().default(0),
      for: DurationSchema.optional(),
    })
    .strict()
    .refine(hasThreshold, { message: 'give above, below or both' }),
  z
    .object({
      type: z.literal('mqtt'),
      topic: z.string().min(1).describe('an MQTT topic filter; + and # work'),
      /** Fire only for this exact payload. */
      payload: z.string().optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('coap'),
      /** Requests to coap://<ninho>/hooks/<path> fire the rule. */
      path: z.string().regex(/^[a-zA-Z0-9_-]+(\/[a-zA-Z0-9_-]+)*$/, 'expected a path such as "doorbell" or "garden/pump"'),
      method: z.enum(['GET', 'PUT', 'POST', 'DELETE']).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('device'),
      device: deviceId,
      to: z.enum(['online', 'offline']),
      for: DurationSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('time'), at: timeOfDay }).strict(),
  z
    .object({
      type: z.literal('cron'),
      expression: z.string().refine((expression) => {
        try {
          new Cron(expression, { paused: true }).stop();
          return true;
        } catch {
          return false;
        }
      }, 'not a valid cron expression (five or six fields, such as "0 7 * * 1-5")'),
    })
    .strict(),
  z
    .object({
      type: z.literal('sun'),
      event: z.enum(['sunrise', 'sunset']),
      /** Before (negative) or after the event, e.g. "-30m". */
      offset: z
        .union([z.number().int(), z.string().regex(/^-?.+$/)])
        .transform((value, ctx) => {
          if (typeof value === 'number') return value;
          const negative = value.trim().startsWith('-');
          const ms = parseDuration(value.trim().replace(/^-/, ''));
          if (ms === null || ms === undefined || !Number.isFinite(ms)) {
            ctx.addIssue({ code: 'custom', message: 'expected an offset such as "-30m" or "1h"' });
            return z.NEVER;
          }
          return negative ? -ms : ms;
        })
        .default(0),
    })
    .strict(),
]);

export type Trigger = z.infer<typeof TriggerSchema>;

export type Condition =
  | { type: 'state'; entity: string; state: z.infer<typeof stateMatch> }
  | { type: 'numeric'; entity: string; above?: number | undefined; below?: number | undefined }
  | { type: 'time'; after?: string | undefined; before?: string | undefined; weekdays?: Array<z.infer<typeof weekday>> | undefined }
  | { type: 'device'; device: string; is: 'online' | 'offline' }
  | { type: 'and' | 'or'; conditions: Condition[] }
  | { type: 'not'; condition: Condition };

export const ConditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('state'), entity: entityId, state: stateMatch }).strict(),
    z
      .object({ type: z.literal('numeric'), entity: entityId, ...thresholds })
      .strict()
      .refine(hasThreshold, { message: 'give above, below or both' }),
    z
      .object({
        type: z.literal('time'),
        after: timeOfDay.optional(),
        before: timeOfDay.optional(),
        weekdays: z.array(weekday).min(1).optional(),
      })
      .strict()
      .refine((c) => c.after !== undefined || c.before !== undefined || c.weekdays !== undefined, {
        message: 'give after, before, weekdays or some of them',
      }),
    z.object({ type: z.literal('device'), device: deviceId, is: z.enum(['online', 'offline']) }).strict(),
    z.object({ type: z.literal('and'), conditions: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ type: z.literal('or'), conditions: z.array(ConditionSchema).min(1) }).strict(),
    z.object({ type: z.literal('not'), condition: ConditionSchema }).strict(),
  ]),
);

export type Action =
  | { type: 'command'; entity: string; command: string | number | boolean }
  | { type: 'publish'; topic: string; payload: string; qos: 0 | 1 | 2; retain: boolean }
  | { type: 'webhook'; url: string; method: 'GET' | 'POST' | 'PUT'; headers: Record<string, string>; body?: unknown; timeout: number }
  | { type: 'delay'; duration: number }
  | { type: 'wait'; trigger: Trigger; timeout: number; continueOnTimeout: boolean }
  | { type: 'if'; condition: Condition; then: Action[]; else: Action[] }
  | { type: 'choose'; choices: Array<{ condition: Condition; actions: Action[] }>; default: Action[] };

// Recursive, so typed by hand; its input is left unknown (durations are text in, ms out).
export const ActionSchema: z.ZodType<Action> = z.lazy(() =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('command'), entity: entityId, command: z.union([z.string().min(1), z.number(), z.boolean()]) }).strict(),
    z
      .object({
        type: z.literal('publish'),
        topic: z
          .string()
          .min(1)
          .refine((t) => !/[+#]/.test(t), 'a topic to publish to has no wildcards'),
        payload: z.string().default(''),
        qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(0),
        retain: z.boolean().default(false),
      })
      .strict(),
    z
      .object({
        type: z.literal('webhook'),
        url: z.url({ protocol: /^https?$/ }),
        method: z.enum(['GET', 'POST', 'PUT']).default('POST'),
        headers: z.record(z.string(), z.string()).default({}),
        body: z.unknown().optional(),
        timeout: DurationSchema.default(10_000),
      })
      .strict(),
    z.object({ type: z.literal('delay'), duration: DurationSchema }).strict(),
    z
      .object({
        type: z.literal('wait'),
        trigger: TriggerSchema,
        timeout: DurationSchema,
        /** Without it a timeout ends the run; with it the run goes on. */
        continueOnTimeout: z.boolean().default(false),
      })
      .strict(),
    z
      .object({
        type: z.literal('if'),
        condition: ConditionSchema,
        then: z.array(ActionSchema).min(1),
        else: z.array(ActionSchema).default([]),
      })
      .strict(),
    z
      .object({
        type: z.literal('choose'),
        choices: z.array(z.object({ condition: ConditionSchema, actions: z.array(ActionSchema).min(1) }).strict()).min(1),
        default: z.array(ActionSchema).default([]),
      })
      .strict(),
  ]),
);

export const RuleModeSchema = z.enum(['single', 'restart', 'queued', 'parallel']);
export type RuleMode = z.infer<typeof RuleModeSchema>;

export const RuleSchema = z
  .object({
    version: z.literal(RULE_VERSION).default(RULE_VERSION),
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes')
      .optional()
      .describe('made from the name when left out'),
    name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).optional(),
    enabled: z.boolean().default(true),
    /**
     * What a trigger does while a run is under way: single ignores it, restart stops the run
     * and starts again, queued runs it afterwards, parallel runs it alongside (up to max).
     */
    mode: RuleModeSchema.default('single'),
    max: z.number().int().min(1).max(1000).default(10),
    triggers: z.array(TriggerSchema).min(1),
    conditions: z.array(ConditionSchema).default([]),
    actions: z.array(ActionSchema).min(1),
  })
  .strict();

export type RuleInput = z.input<typeof RuleSchema>;
export type Rule = z.infer<typeof RuleSchema> & { id: string };

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // accents go, letters stay: "Ação" → "acao"
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug === '' ? 'rule' : slug;
}
