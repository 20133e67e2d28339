/**
 * Values the core and lib/ must agree on, kept in two places by hand: event kinds and
 * callback bits (native/core/events.hpp ↔ lib/native.ts, lib/events.ts), join outcomes
 * (room_registry.hpp ↔ lib/native.ts). Read from the headers themselves, so a change on
 * one side only fails here.
 */
import * as fs from 'fs';
import * as path from 'path';
import { JoinResult, Kind } from '../../lib/native';
import { callbackBits } from '../../lib/events';

const core = path.join(__dirname, '..', '..', 'native', 'core');
const header = fs.readFileSync(path.join(core, 'events.hpp'), 'utf8') + fs.readFileSync(path.join(core, 'room_registry.hpp'), 'utf8');
const camel = (snake: string): string => snake.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function enumBody(name: string): string {
  const m = new RegExp(`enum (?:class )?${name}[^{]*\\{([^}]*)\\}`).exec(header);
  if (!m) throw new Error(`enum ${name} not found in events.hpp`);
  return m[1];
}

describe('core and lib/ agree', () => {
  it('on every event kind and its number', () => {
    const kinds: Record<string, number> = {};
    for (const m of enumBody('event_kind').matchAll(/^\s*(\w+)\s*=\s*(\d+)/gm)) kinds[camel(m[1])] = Number(m[2]);
    expect(Object.keys(kinds).length).toBeGreaterThan(10);
    expect(kinds).toEqual({ ...Kind });
  });

  it('on every join outcome', () => {
    const results: Record<string, number> = {};
    for (const m of enumBody('join_result').matchAll(/^\s*(\w+)\s*=\s*(\d+)/gm)) results[camel(m[1])] = Number(m[2]);
    expect(Object.keys(results).length).toBeGreaterThan(5);
    expect(results).toEqual({ ...JoinResult });
  });

  it('on every callback bit', () => {
    const bits: Record<string, number> = {};
    for (const m of enumBody('callback_bit').matchAll(/^\s*cb_(\w+)\s*=\s*1u\s*<<\s*(\d+)/gm)) {
      const name = m[1] === 'binary' ? 'onBinaryMessage' : `on${camel(m[1]).replace(/^./, (c) => c.toUpperCase())}`;
      bits[name] = 1 << Number(m[2]);
    }
    expect(Object.keys(bits).length).toBeGreaterThan(10);
    expect(bits).toEqual(callbackBits);
  });
});
