import semver from 'semver';
import { z } from 'zod';

/** The `ninho` field of a plugin's package.json. */
export const PluginManifestSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
    apiVersion: z.string().refine((range) => semver.validRange(range) !== null, 'not a semver range'),
    displayName: z.string().min(1).optional(),
    models: z.array(z.string().min(1)).min(1),
    /** JSON Schema of the plugin's options; validated with zod's fromJSONSchema. */
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const PluginPackageSchema = z.object({
  name: z.string().min(1),
  version: z.string().refine((v) => semver.valid(v) !== null, 'not a semver version'),
  main: z.string().min(1).default('index.js'),
  ninho: PluginManifestSchema,
});

export type PluginManifest = z.infer<typeof PluginManifestSchema>;
export type PluginPackage = z.infer<typeof PluginPackageSchema>;

/** The runtime shape a plugin's default export must have. */
export const PluginObjectSchema = z.looseObject({
  models: z.array(z.looseObject({ model: z.string(), vendor: z.string(), entities: z.array(z.unknown()) })),
  setup: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'setup must be a function'),
  command: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'command must be a function').optional(),
  teardown: z.custom<(...args: unknown[]) => unknown>((v) => typeof v === 'function', 'teardown must be a function').optional(),
});
