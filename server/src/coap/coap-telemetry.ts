import { humidity, temperature, type EntityDescriptor, type StateValue } from '@ninho/plugin-sdk';
import { z } from 'zod';

/** The body of `POST /devices/<id>`: flat entity key → value, e.g. {"temperature":21.5,"humidity":40}. */
export const TelemetrySchema = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'entity keys are lowercase letters, digits and _'),
    z.union([z.number(), z.string().max(255), z.boolean(), z.null()]),
  )
  .refine((record) => Object.keys(record).length > 0, 'at least one value is required');

const KNOWN: Record<string, () => EntityDescriptor> = {
  temperature: () => temperature(),
  humidity: () => humidity(),
};

/** An entity for a key a constrained device reported without any plugin describing it. */
export function inferEntity(key: string, value: StateValue): EntityDescriptor {
  const known = KNOWN[key];
  if (known) return known();
  const name = key.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  return { key, name, kind: typeof value === 'boolean' ? 'binary_sensor' : 'sensor' };
}
