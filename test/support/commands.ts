import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command line tool (mosquitto_pub, openssl…) to completion; never rejects on a non-zero exit. */
export function run(command: string, args: string[], timeoutMs = 10_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running tool such as mosquitto_sub, with its output so far. */
export interface Background {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code once the process ends by itself. */
  exited: Promise<number | null>;
}

export function background(command: string, args: string[]): Background {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Starts mosquitto_sub with -d and resolves once it has its SUBACK. */
export async function mosquittoSub(args: string[]): Promise<Background> {
  // stdbuf: mosquitto_sub block-buffers its -d output when it writes to a pipe.
  const sub = background('stdbuf', ['-oL', 'mosquitto_sub', '-d', ...args]);
  const deadline = Date.now() + 5000;
  while (!/received SUBACK/i.test(sub.output())) {
    if (Date.now() > deadline || sub.child.exitCode !== null) throw new Error(`mosquitto_sub did not subscribe:\n${sub.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return sub;
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl. */
export async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const result = await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  if (result.code !== 0 || !fs.existsSync(cert)) throw new Error(`openssl failed: ${result.stderr}`);
  return { cert, key };
}
