import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config/config.loader';

const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ninho-config-'));

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, cwd);
    expect(config).toMatchObject({
      dataDir: path.join(cwd, 'data'),
      http: { port: 8080 },
      mqtt: { port: 1883, allowAnonymous: true },
      coap: { port: 5683 },
    });
  });

  it('lets env vars win over ninho.yaml, and reads "false" as false', () => {
    const file = path.join(cwd, 'custom.yaml');
    fs.writeFileSync(file, 'http:\n  port: 9000\nmqtt:\n  port: 1884\n');
    const config = loadConfig({ NINHO_CONFIG: file, NINHO_MQTT_PORT: '0', NINHO_MQTT_ALLOW_ANONYMOUS: 'false' }, cwd);
    expect(config.http.port).toBe(9000);
    expect(config.mqtt.port).toBe(0);
    expect(config.mqtt.allowAnonymous).toBe(false);
  });

  it('reports every error with its path', () => {
    try {
      loadConfig({ NINHO_HTTP_PORT: '70000', NINHO_LOG_LEVEL: 'loud' }, cwd);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const issues = (error as ConfigError).issues;
      expect(issues.some((i) => i.startsWith('http.port:'))).toBe(true);
      expect(issues.some((i) => i.startsWith('logLevel:'))).toBe(true);
    }
  });

  it('reports a missing explicit config file', () => {
    expect(() => loadConfig({ NINHO_CONFIG: 'nope.yaml' }, cwd)).toThrow(/cannot read/);
  });
});
