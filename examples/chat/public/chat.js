// The chat page, on roomwire/client: connects with a name, lists rooms from the REST room
// API, joins one room at a time, shows who is present, and sends room or direct messages.
// A lost connection comes back by itself: the room is rejoined and the messages missed
// meanwhile arrive (or the page says some may be missing).
import { RoomwireClient } from '/roomwire-client.js';

const $ = (id) => document.getElementById(id);
const state = { client: null, me: null, room: null, roomName: null, members: new Map() };

function esc(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
}

function line(html, cls) {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  li.innerHTML = html;
  $('log').appendChild(li);
  $('log').scrollTop = $('log').scrollHeight;
}

function enable(on) {
  for (const el of [$('text'), $('send')]) el.disabled = !on;
}

async function loadRooms() {
  const res = await fetch('/websocket/rooms');
  const { rooms } = await res.json();
  $('rooms').innerHTML = '';
  for (const r of rooms) {
    const li = document.createElement('li');
    li.dataset.roomId = r.id;
    li.dataset.roomName = r.name;
    li.className = r.id === state.room ? 'active' : '';
    li.innerHTML = `${esc(r.name)}<small>${esc(r.description)} · ${r.connectionsCount}</small>`;
    li.onclick = () => joinRoom(r.id, r.name);
    $('rooms').appendChild(li);
  }
  return rooms;
}

async function showMembers(roomId) {
  const members = await state.client.presenceList(roomId);
  if (roomId !== state.room) return;
  state.members = new Map(members.map((m) => [m.connection_id, m]));
  renderMembers();
}

async function joinRoom(id, name) {
  const client = state.client;
  if (!client || id === state.room) return;
  try {
    if (state.room) await client.leaveRoom(state.room);
    state.room = null;
    await client.joinRoom(id, { name: state.me });
    state.room = id;
    state.roomName = name;
    line(`you joined ${esc(name)}`, 'sys');
    await showMembers(id);
  } catch (err) {
    line(`could not join ${esc(name)}: ${esc(err.message)}`, 'sys');
  }
  loadRooms();
}

function renderMembers() {
  $('members').innerHTML = '';
  const to = $('to');
  const chosen = to.value;
  to.innerHTML = '<option value="">the room</option>';
  for (const m of state.members.values()) {
    const li = document.createElement('li');
    li.dataset.clientId = m.client_id;
    li.textContent = m.client_id + (m.client_id === state.me ? ' (you)' : '');
    li.onclick = () => { if (m.client_id !== state.me) { $('to').value = m.client_id; $('text').focus(); } };
    $('members').appendChild(li);
    if (m.client_id !== state.me && ![...to.options].some((o) => o.value === m.client_id)) {
      to.add(new Option(`@${m.client_id}`, m.client_id));
    }
  }
  to.value = [...to.options].some((o) => o.value === chosen) ? chosen : '';
}

function connect(name) {
  if (state.client) state.client.disconnect();
  state.me = name;
  state.room = null;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const client = new RoomwireClient({ url: `${scheme}://${location.host}/chat`, clientId: name });
  state.client = client;
  client.on('room_message', (m) => {
    if (m.room_id === state.room) line(`<span class="from">${esc(m.from_client_id || 'server')}</span>${esc(m.message)}`);
  });
  client.on('direct_message', (m) => line(`<span class="from">${esc(m.from_client_id || 'server')} → you</span>${esc(m.message)}`, 'dm'));
  client.on('presence', (m) => {
    if (m.room_id !== state.room) return;
    if (m.event === 'join') { state.members.set(m.connection_id, m); line(`${esc(m.client_id)} joined`, 'sys'); }
    else { state.members.delete(m.connection_id); line(`${esc(m.client_id)} left`, 'sys'); }
    renderMembers();
    loadRooms();
  });
  client.on('room_left', (m) => {
    if (m.room_id === state.room) { state.room = null; state.members.clear(); renderMembers(); }
  });
  client.on('message_blocked', (m) => line(`not sent: ${esc(m.reason)}`, 'sys'));
  client.on('error', (e) => { if (e.code === 'server') line(`not sent: ${esc(e.message)}`, 'sys'); });
  client.on('disconnect', (e) => {
    $('status').textContent = e.willReconnect ? `reconnecting… (${e.code})` : `disconnected (${e.code})`;
    enable(false);
  });
  client.on('welcome', (w) => {
    $('status').textContent = `connected as ${w.client_id}`;
    enable(true);
  });
  client.on('rejoined', (e) => {
    if (e.room_id !== state.room) return;
    if (!e.recovered) line('reconnected: some messages may be missing', 'sys');
    showMembers(e.room_id);
  });
  client.on('reconnect_failed', () => { $('status').textContent = 'disconnected (gave up)'; });
  client.connect().then(async () => {
    const rooms = await loadRooms();
    if (rooms.length > 0) await joinRoom(rooms[0].id, rooms[0].name);
  }, (err) => {
    $('status').textContent = `disconnected (${err.status ?? err.code}: ${err.message})`;
    enable(false);
  });
}

$('join-form').onsubmit = (ev) => {
  ev.preventDefault();
  connect($('name').value.trim());
};

$('say').onsubmit = (ev) => {
  ev.preventDefault();
  const text = $('text').value;
  if (!text.trim() || !state.client) return;
  const to = $('to').value;
  if (to) {
    state.client.sendDirectMessage(to, text);
    line(`<span class="from">you → ${esc(to)}</span>${esc(text)}`, 'dm');
  } else if (state.room) {
    state.client.sendToRoom(state.room, text);
  }
  $('text').value = '';
};
