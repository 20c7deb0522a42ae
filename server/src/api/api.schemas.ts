import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { parseBucket } from '../history/bucket';

/** A query-string time: Unix milliseconds or ISO 8601. */
const timestamp = z.string().transform((text, ctx) => {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'expected Unix milliseconds or an ISO 8601 time' });
    return z.NEVER;
  }
  return ms;
});

export const HistoryQuerySchema = z
  .object({
    from: timestamp.optional().describe('Start, inclusive: Unix ms or ISO 8601. Default: 24 h before `to`.'),
    to: timestamp.optional().describe('End, exclusive: Unix ms or ISO 8601. Default: now.'),
    bucket: z
      .string()
      .refine((v) => parseBucket(v) !== undefined, 'expected a bucket such as 1m, 15m, 1h or 1d')
      .optional()
      .describe('Bucket size (1m, 1h, 1d…). Without it, raw points are returned.'),
    limit: z.coerce.number().int().min(1).max(1_000_000).default(10_000).describe('Maximum raw points'),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, { message: '`from` must be before `to`', path: ['from'] });

export class HistoryQueryDto extends createZodDto(HistoryQuerySchema) {}

export const CommandBodySchema = z
  .object({ command: z.union([z.string().min(1).max(255), z.number(), z.boolean()]).describe('e.g. "ON", "open", 21.5') })
  .strict();

export class CommandBodyDto extends createZodDto(CommandBodySchema) {}

export const InstallPluginSchema = z.discriminatedUnion('source', [
  z
    .object({ source: z.literal('npm'), spec: z.string().min(1).max(214).describe('an npm package spec, e.g. ninho-plugin-x@1.2.0') })
    .strict(),
  z.object({ source: z.literal('folder'), path: z.string().min(1).describe('a folder on the server holding a plugin package') }).strict(),
]);

export const PatchPluginSchema = z
  .object({
    enabled: z.boolean().optional(),
    options: z.record(z.string(), z.unknown()).optional().describe("checked against the plugin's options schema"),
  })
  .strict()
  .refine((b) => b.enabled !== undefined || b.options !== undefined, { message: 'give enabled, options or both' });

export class PatchPluginDto extends createZodDto(PatchPluginSchema) {}

export const RemovePluginQuerySchema = z.object({
  purge: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .describe("also delete the plugin's devices and their history"),
});

export class RemovePluginQueryDto extends createZodDto(RemovePluginQuerySchema) {}

export const RenameBodySchema = z.object({ name: z.string().trim().min(1).max(100).describe('the new display name') }).strict();

export class RenameBodyDto extends createZodDto(RenameBodySchema) {}

export const RemoveDeviceQuerySchema = z.object({
  history: z.enum(['keep', 'purge']).default('keep').describe('keep the readings (the default) or delete them with the device'),
});

export class RemoveDeviceQueryDto extends createZodDto(RemoveDeviceQuerySchema) {}

export const PatchRuleSchema = z.object({ enabled: z.boolean() }).strict();

export class PatchRuleDto extends createZodDto(PatchRuleSchema) {}

export const RunsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) });

export class RunsQueryDto extends createZodDto(RunsQuerySchema) {}

export const AdvanceClockSchema = z
  .object({
    advanceMs: z
      .number()
      .int()
      .min(0)
      .max(366 * 86_400_000),
  })
  .strict();

export class AdvanceClockDto extends createZodDto(AdvanceClockSchema) {}
