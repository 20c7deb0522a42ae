import type { JsonSchema } from './types';

/** How one option of a plugin's schema is edited; anything that is not a plain value is edited as JSON. */
export type FieldKind = 'boolean' | 'integer' | 'number' | 'enum' | 'string' | 'json';

export interface OptionField {
  key: string;
  label: string;
  kind: FieldKind;
  schema: JsonSchema;
  required: boolean;
}

function typeOf(schema: JsonSchema): string | undefined {
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
}

export function optionFields(schema: JsonSchema): OptionField[] {
  return Object.entries(schema.properties ?? {}).map(([key, property]) => {
    const type = typeOf(property);
    const kind: FieldKind =
      property.enum !== undefined
        ? 'enum'
        : type === 'boolean' || type === 'integer' || type === 'number' || type === 'string'
          ? type
          : 'json';
    return { key, label: property.title ?? key, kind, schema: property, required: schema.required?.includes(key) ?? false };
  });
}

/** The text a field starts with: the option as set, else empty so that the schema's default applies. */
export function initialValue(field: OptionField, options: Record<string, unknown>): string | boolean {
  const value = options[field.key];
  if (field.kind === 'boolean') return typeof value === 'boolean' ? value : field.schema.default === true;
  if (value === undefined) return '';
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  return displayValue(value);
}

/** A schema value (a default, an enum choice) as text: strings as they are, anything else as JSON. */
export function displayValue(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
}

/**
 * Turns the form's texts back into options. Empty fields are left out, so the plugin's
 * defaults apply; the server checks the rest against the schema and answers with paths.
 */
export function readOptions(
  fields: OptionField[],
  values: Record<string, unknown>,
): { options: Record<string, unknown>; errors: Record<string, string> } {
  const options: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const field of fields) {
    // Checkboxes give booleans and number inputs numbers (or null when empty) through bind:.
    const value = values[field.key];
    if (typeof value === 'boolean' || typeof value === 'number') {
      options[field.key] = value;
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') continue;
    switch (field.kind) {
      case 'integer':
      case 'number': {
        const number = Number(value);
        if (Number.isNaN(number)) errors[field.key] = 'expected a number';
        else options[field.key] = number;
        break;
      }
      case 'json':
        try {
          options[field.key] = JSON.parse(value) as unknown;
        } catch (error) {
          errors[field.key] = `not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
        }
        break;
      case 'enum': {
        const choice = field.schema.enum?.find((option) => String(option) === value);
        options[field.key] = choice ?? value;
        break;
      }
      case 'string':
      case 'boolean':
        options[field.key] = value;
        break;
    }
  }
  return { options, errors };
}

/** Server errors come as paths like options.ports.0.path: the field is the part after options. */
export function fieldOfPath(path: string): string | undefined {
  const [first, second] = path.split('.');
  return first === 'options' ? second : undefined;
}
