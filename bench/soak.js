#!/usr/bin/env node
// Churn soak: for D minutes (default 10), C concurrent workers (default 50) each loop:
// connect, join a persistent and an auto-created room, send room and direct messages,
// leave, and close (politely or abruptly, alternately). The server's memory (VmRSS from
// /proc) and its room/connection gauges are sampled every minute; at the end the server
// must hold no members and only its persistent rooms.
// Usage: node bench/soak.js [--minutes 10] [--workers 50]
'use strict';
const fs = require('fs');
const WebSocket = require('ws');
const { startServer, stopServer, args, writeResult } = require('./lib');

const o = args({ minutes: 10, workers: 50 });

function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m[1]) / 1024;
}

async function gauges(port) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const get = (name) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)[1]);
  return { connections: get('roomwire_connections_active'), rooms: get('roomwire_rooms'), members: get('roomwire_room_members'), total: get('roomwire_connections_total') };
}

function cycle(port, w, i) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/soak?clientId=w${w}`);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      ws.terminate();
      done();
    }, 10000);
    let step = 0;
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type === 'welcome') {
        ws.send(JSON.stringify({ type: 'join_room', room_id: `persistent-${i % 10}`, presence: { w } }));
        ws.send(JSON.stringify({ type: 'join_room', room_id: `tmp-${w}-${i % 3}` }));
      } else if (m.type === 'room_joined' && ++step === 2) {
        for (let k = 0; k < 5; k++) ws.send(JSON.stringify({ type: 'room_message', room_id: `persistent-${i % 10}`, message: `m${k}` }));
        ws.send(JSON.stringify({ type: 'direct_message', target_client_id: `w${(w + 1) % o.workers}`, message: 'hi' }));
        ws.send(JSON.stringify({ type: 'leave_room', room_id: `tmp-${w}-${i % 3}` }));
      } else if (m.type === 'room_left') {
        if (i % 2) ws.terminate();
        else ws.close();
      }
    });
    ws.on('close', done);
    ws.on('error', () => undefined);
  });
}

(async () => {
  const { child, port } = await startServer('servers/roomwire-soak.js');
  const end = Date.now() + o.minutes * 60000;
  let cycles = 0;
  const samples = [];
  const sample = async (minute) => {
    const g = await gauges(port);
    const s = { minute, rssMb: Math.round(rssMb(child.pid) * 10) / 10, cycles, ...g };
    samples.push(s);
    console.error(`minute ${minute}: rss ${s.rssMb} MB, ${cycles} cycles, ${g.connections} connections, ${g.rooms} rooms, ${g.members} members`);
  };
  await sample(0);
  let minute = 0;
  const sampler = setInterval(() => sample(++minute), 60000);
  await Promise.all(Array.from({ length: o.workers }, async (_, w) => {
    for (let i = 0; Date.now() < end; i++) {
      await cycle(port, w, i);
      cycles++;
    }
  }));
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 2000));
  const final = await gauges(port);
  const finalRss = Math.round(rssMb(child.pid) * 10) / 10;
  await stopServer(child);
  const ok = final.connections === 0 && final.members === 0 && final.rooms === 10;
  console.log(`\n| minute | RSS (MB) | cycles so far | connections | rooms | members |`);
  console.log(`|---|---|---|---|---|---|`);
  for (const s of samples) console.log(`| ${s.minute} | ${s.rssMb} | ${s.cycles} | ${s.connections} | ${s.rooms} | ${s.members} |`);
  console.log(`| end (+2 s) | ${finalRss} | ${cycles} | ${final.connections} | ${final.rooms} | ${final.members} |`);
  console.log(`\n${cycles} cycles; left over: ${final.connections} connections, ${final.members} members, ${final.rooms - 10} non-persistent rooms: ${ok ? 'clean' : 'NOT CLEAN'}`);
  writeResult('soak', { options: o, samples, final: { ...final, rssMb: finalRss }, cycles, clean: ok });
  process.exit(ok ? 0 : 1);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
