import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/server';

describe('MQTT session persistence', () => {
  it('passes the abstract test suite that aedes-persistence ships', async () => {
    const suite = path.join(REPO_ROOT, 'test', 'persistence', 'aedes-abstract-suite.cjs');
    const result = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', suite], {
      cwd: REPO_ROOT,
      maxBuffer: 64 * 1024 * 1024,
    }).catch((error: { stdout: string; stderr: string; code: number }) => error);
    const summary = /# pass (\d+)\n# fail (\d+)/.exec(result.stdout);
    expect(summary, result.stdout.slice(-2000) + result.stderr).not.toBeNull();
    expect(Number(summary?.[2])).toBe(0);
    // 50 tests in aedes-persistence 11; a far smaller number would mean the suite did not really run.
    expect(Number(summary?.[1])).toBeGreaterThanOrEqual(40);
  }, 120_000);
});
