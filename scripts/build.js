#!/usr/bin/env node
// Compiles src/ to dist/ and copies the hand-written editor files (nodes/) beside the compiled nodes.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {
  stdio: 'inherit',
});
fs.cpSync(path.join(root, 'nodes'), path.join(root, 'dist', 'nodes'), { recursive: true });
