import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
// z.coerce.boolean() would read the env string "false" as true.
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')]);

/** One schema for ninho.yaml and the NINHO_* env vars (env wins); the source of the Config type. */
export const ConfigSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    host: z.string().min(1).default('0.0.0.0'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    http: z
      .object({ port: port.default(8080) })
      .strict()
      .default({ port: 8080 }),
    mqtt: z
      .object({
        port: port.default(1883),
        /** A frozen subscriber stalls delivery to everyone until this disconnects it (DESIGN.md). */
        drainTimeoutMs: z.coerce.number().int().positive().default(10_000),
        maxInflightInbound: z.coerce.number().int().positive().default(1000),
        maxTopicLevels: z.coerce.number().int().positive().default(32),
        queueLimit: z.coerce.number().int().positive().default(1000),
        allowAnonymous: flag.default(true),
        /** MQTT over TLS (mqtts://), on when a certificate and key are given. */
        tls: z
          .object({
            port: port.default(8883),
            cert: z.string().min(1).describe('PEM certificate (chain) file'),
            key: z.string().min(1).describe('PEM private key file'),
            ca: z.string().min(1).optional().describe('PEM file of extra CA certificates to send with the chain'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    coap: z
      .object({ port: port.default(5683) })
      .strict()
      .prefault({}),
    plugins: z
      .object({
        /** Folders scanned for plugin packages, besides the bundled plugins/ folder. */
        dirs: z.array(z.string().min(1)).default([]),
        /** Options per plugin id, checked against each plugin's own options schema when it loads. */
        options: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
        /** A plugin whose setup takes longer is disabled, so that it cannot hold up the start. */
        setupTimeoutMs: z.coerce.number().int().positive().default(10_000),
      })
      .strict()
      .prefault({}),
    devices: z
      .object({
        /** A device not heard from for this long is marked offline. */
        offlineAfterSeconds: z.coerce.number().int().positive().default(600),
      })
      .strict()
      .prefault({}),
    /** Where the home is, for rules' sunrise and sunset triggers. */
    location: z
      .object({ latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180) })
      .strict()
      .optional(),
    /**
     * Tests only: time stands still at this moment (Unix ms, ISO 8601 or "now") and moves when
     * POST /api/test/clock says so, so that rules' minutes and hours pass in milliseconds.
     */
    testClock: z
      .union([z.number(), z.string()])
      .transform((value, ctx) => {
        const ms = value === 'now' ? Date.now() : typeof value === 'number' || /^\d+$/.test(value) ? Number(value) : Date.parse(value);
        if (Number.isNaN(ms)) {
          ctx.addIssue({ code: 'custom', message: 'expected "now", Unix milliseconds or an ISO 8601 time' });
          return z.NEVER;
        }
        return ms;
      })
      .optional(),
    history: z
      .object({
        flushIntervalMs: z.coerce.number().int().positive().max(1000).default(1000),
        flushRows: z.coerce.number().int().positive().default(5000),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;
