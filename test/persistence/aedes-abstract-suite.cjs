// Runs the abstract test suite that aedes-persistence ships against the persistence
// the broker uses: SessionAwarePersistence (server/dist, so build first) over
// classic-level, as in server/src/broker/broker.service.ts. The suite's clients
// carry no clean-session flag, so it exercises the durable LevelDB side, which is
// what must hold up across restarts; the in-memory side is aedes' own persistence.
// It is a node:test suite, so test/e2e/mqtt-persistence.test.ts runs it with `node --test`.
'use strict';
const test = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const abstractSuite = require('aedes-persistence/abstract');
const { ClassicLevel } = require('classic-level');
const { SessionAwarePersistence } = require('../../server/dist/broker/session-aware-persistence.js');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ninho-aedes-persistence-'));
let n = 0;

abstractSuite({
  test,
  testAsync: true,
  persistence() {
    return new SessionAwarePersistence(new ClassicLevel(path.join(root, String(n++))));
  },
});
