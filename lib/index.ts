/**
 * roomwire: WebSocket and HTTP served by a native Boost.Beast core on its own threads.
 */
import { createApp } from './app';
import type * as Declared from '../types/index';

export { App, createApp } from './app';
export { RoomwireError, HttpError, codes } from './errors';
export { HooksError } from './hooks';

// The hand-written typings must describe this implementation: this fails to compile when
// types/index.d.ts promises something lib/ does not provide.
const typed: typeof Declared.createApp = createApp;
void typed;
