/**
 * roomwire: WebSocket and HTTP served by a native Boost.Beast core on its own threads.
 */
export { App, createApp } from './app';
export { RoomwireError, HttpError, codes } from './errors';
