// Runs the abstract test suite that aedes-persistence ships against the persistence
// the broker uses (aedes-persistence-level over classic-level), configured as in
// server/src/broker/broker.service.ts. It is a node:test suite, so
// test/e2e/mqtt-persistence.test.ts runs it with `node --test`.
'use strict';
const test = require('node:test');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const abstractSuite = require('aedes-persistence/abstract');
const aedesPersistenceLevel = require('aedes-persistence-level');
const { ClassicLevel } = require('classic-level');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ninho-aedes-persistence-'));
let n = 0;

abstractSuite({
  test,
  persistence() {
    return aedesPersistenceLevel(new ClassicLevel(path.join(root, String(n++))));
  },
});
