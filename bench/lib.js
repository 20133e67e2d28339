// Shared helpers for the benchmark scripts: start a server script on a fresh process,
// run the C++ load generator against it, take medians.
'use strict';
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const loadgen = path.join(root, 'build', 'roomwire_loadgen');

/** Builds the load generator and the bare-epoll floor server if needed (incremental). */
function buildLoadgen() {
  execFileSync('cmake', ['--build', path.join(root, 'build'), '--target', 'roomwire_loadgen', 'roomwire_epoll_echo',
    '--parallel', '2'], { stdio: 'ignore' });
  if (!fs.existsSync(loadgen)) throw new Error('roomwire_loadgen did not build');
}

/**
 * Starts a server and resolves with { child, port } once it prints its port: `script` is a
 * bench/ script run by Node, or a program in build/ (`build/...`, given `args`). With
 * env.PIN_CPU it runs on that CPU only (taskset).
 */
function startServer(script, env = {}, args = []) {
  return new Promise((resolve, reject) => {
    const argv = script.startsWith('build/') ? [path.join(root, script), ...args] : [process.execPath, path.join(__dirname, script)];
    if (env.PIN_CPU !== undefined) argv.unshift('taskset', '-c', env.PIN_CPU);
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    const timer = setTimeout(() => reject(new Error(`${script} did not start`)), 10000);
    child.stdout.once('data', (d) => {
      clearTimeout(timer);
      resolve({ child, port: Number(String(d).trim()) });
    });
    child.once('error', reject);
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Runs the load generator with `args`; resolves with its JSON line. */
/** Runs the load generator with `args` (on CPU `pin` only, when given); resolves with its JSON. */
function runLoadgen(args, timeoutMs = 120000, pin = undefined) {
  return new Promise((resolve, reject) => {
    const child = pin === undefined ? spawn(loadgen, args, { stdio: ['ignore', 'pipe', 'inherit'] })
      : spawn('taskset', ['-c', String(pin), loadgen, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`loadgen exited with ${code}`));
      // One JSON line, or several (fanout --stamp adds its timings): merged.
      resolve(Object.assign({}, ...out.trim().split('\n').map((l) => JSON.parse(l))));
    });
  });
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

/** Parses `--name value` arguments with defaults. */
function args(defaults) {
  const out = { ...defaults };
  for (let i = 2; i + 1 < process.argv.length; i += 2) {
    const key = process.argv[i].replace(/^--/, '');
    if (!(key in defaults)) throw new Error(`unknown option --${key}`);
    out[key] = typeof defaults[key] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
  }
  return out;
}

function writeResult(name, data) {
  const dir = path.join(__dirname, 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(data, null, 2));
  return file;
}

module.exports = { buildLoadgen, startServer, stopServer, runLoadgen, median, args, writeResult };
