import fs from 'node:fs';
import path from 'node:path';
import type { DeviceDescriptor, MqttMessage, NinhoPlugin, PluginContext, StateValue } from '@ninho/plugin-sdk';
import { describe, expect, it } from 'vitest';
import { PluginObjectSchema, PluginPackageSchema } from '../../server/src/plugins/plugin-manifest.schema';

const PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');
const ENTITY_KINDS = new Set(['sensor', 'binary_sensor', 'switch', 'cover']);

const pluginDirs = fs
  .readdirSync(PLUGINS_DIR)
  .map((name) => path.join(PLUGINS_DIR, name))
  .filter((dir) => 'ninho' in (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as object));

/** A strict fake context: records what the plugin does and fails on anything unexpected. */
function fakeContext() {
  const subscriptions: Array<{ filter: string; onMessage: (m: MqttMessage) => void }> = [];
  const registered = new Map<string, DeviceDescriptor>();
  const reports: Array<{ deviceId: string; states: Record<string, StateValue> }> = [];
  const context: PluginContext = {
    pluginId: 'under-test',
    options: {},
    logger: {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (m) => expect.fail(`plugin logged an error: ${m}`),
    },
    mqtt: {
      subscribe: (filter, onMessage) => {
        subscriptions.push({ filter, onMessage });
        return () => undefined;
      },
      publish: () => Promise.reject(new Error('unexpected publish')),
    },
    devices: {
      register: async (device) => void registered.set(device.id, device),
      report: (deviceId, states) => {
        const device = registered.get(deviceId);
        expect(device, `report for unregistered device ${deviceId}`).toBeDefined();
        for (const key of Object.keys(states)) expect(device?.entities.map((e) => e.key)).toContain(key);
        reports.push({ deviceId, states: { ...states } });
      },
      setAvailability: () => undefined,
    },
    timers: { setTimeout: () => () => undefined, setInterval: () => () => undefined },
  };
  return { context, subscriptions, reports };
}

function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

describe('plugin registry contract', () => {
  it('finds the bundled plugins', () => expect(pluginDirs.length).toBeGreaterThan(0));

  const ids = new Set<string>();
  for (const dir of pluginDirs) {
    const pkg = PluginPackageSchema.parse(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')));
    describe(pkg.ninho.id, () => {
      it('has a unique id and a valid manifest', () => {
        expect(ids.has(pkg.ninho.id)).toBe(false);
        ids.add(pkg.ninho.id);
      });

      it('exports a plugin whose entities all have a kind, and a unit where one applies', async () => {
        const plugin = ((await import(path.join(dir, 'src', 'index.ts'))) as { default: NinhoPlugin }).default;
        expect(PluginObjectSchema.safeParse(plugin).success).toBe(true);
        for (const model of plugin.models) {
          expect(pkg.ninho.models).toContain(model.model);
          for (const entity of model.entities) {
            expect(ENTITY_KINDS.has(entity.kind)).toBe(true);
            if (entity.deviceClass === 'temperature' || entity.deviceClass === 'humidity') expect(entity.unit).toBeTruthy();
          }
        }
      });

      it('decodes every example payload', async () => {
        const plugin = ((await import(path.join(dir, 'src', 'index.ts'))) as { default: NinhoPlugin }).default;
        const { context, subscriptions, reports } = fakeContext();
        // Plugins for other transports (serial) have no MQTT payloads to check here.
        if (plugin.examples === undefined) return;
        await plugin.setup(context);
        expect(plugin.examples.length).toBeGreaterThan(0);
        for (const example of plugin.examples ?? []) {
          reports.length = 0;
          for (const s of subscriptions.filter((s) => matches(s.filter, example.topic))) {
            s.onMessage({ topic: example.topic, payload: Buffer.from(example.payload), retain: false });
          }
          await new Promise((r) => setTimeout(r, 10));
          if (example.expect) expect(reports).toContainEqual({ deviceId: example.expect.deviceId, states: example.expect.states });
        }
      });
    });
  }
});
