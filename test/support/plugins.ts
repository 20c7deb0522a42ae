import fs from 'node:fs';
import path from 'node:path';
import { run } from './commands';

/** A third-party plugin package: reports thermo/<id>/t as a temperature, scaled by `factor`. */
export function writeThermoPlugin(dir: string, version: string, factor: number): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'ninho-plugin-thermo',
      version,
      main: 'index.js',
      dependencies: { '@ninho/plugin-sdk': '0.1.0' },
      ninho: { id: 'thermo', apiVersion: '^1.0.0', models: ['thermo'] },
    }),
  );
  fs.writeFileSync(
    path.join(dir, 'index.js'),
    `const { temperature } = require('@ninho/plugin-sdk');
    module.exports = {
      models: [{ model: 'thermo', vendor: 'test', description: 'test', entities: [temperature()] }],
      setup(ctx) {
        ctx.mqtt.subscribe('thermo/+/t', async ({ topic, payload }) => {
          const id = topic.split('/')[1];
          await ctx.devices.register({ id, name: id, transport: 'mqtt', entities: [temperature()] });
          ctx.devices.report(id, { temperature: Number(payload.toString()) * ${factor} });
        });
      },
    };`,
  );
}

/** Packs a plugin folder with npm pack, as its author would publish it; returns the .tgz path. */
export async function packPlugin(source: string, destination: string): Promise<string> {
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', destination, source], 30_000);
  if (packed.code !== 0) throw new Error(`npm pack ${source} failed: ${packed.stderr}`);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  return path.join(destination, filename);
}
