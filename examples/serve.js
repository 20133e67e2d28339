// Shared by the examples: listen where PORT and HOST say, print the address, and close
// cleanly on Ctrl+C or SIGTERM.
'use strict';

/**
 * Listens on PORT (default `port`) and HOST (default 127.0.0.1), prints `label` and the
 * URL of `path` (a page over http(s), or a WebSocket route over ws(s) with `websocket`),
 * and closes the app on SIGINT or SIGTERM.
 * @param {import('..').App} app
 * @param {string} label
 * @param {{ port?: number, path?: string, websocket?: boolean }} [where]
 */
function serve(app, label, { port = 3000, path = '/', websocket = false } = {}) {
  const host = process.env.HOST || '127.0.0.1';
  app.listen(Number(process.env.PORT || port), host).then((bound) => {
    const scheme = (websocket ? 'ws' : 'http') + (app.secure ? 's' : '');
    console.log(`${label}: ${scheme}://${host}:${bound}${path}  (Ctrl+C to stop)`);
  }, (err) => {
    console.error(err.message);
    process.exit(1);
  });
  const stop = () => app.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

module.exports = { serve };
