// The chat page: connects with a name, lists rooms from the REST room API, joins one room
// at a time, shows who is present, and sends room or direct messages.
'use strict';
const $ = (id) => document.getElementById(id);
const state = { ws: null, me: null, room: null, members: new Map() };

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

function send(msg) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
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
}

function joinRoom(id, name) {
  if (!state.ws || id === state.room) return;
  if (state.room) send({ type: 'leave_room', room_id: state.room });
  state.pending = { id, name };
  send({ type: 'join_room', room_id: id, presence: { name: state.me } });
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

function onMessage(m) {
  switch (m.type) {
    case 'welcome':
      $('status').textContent = `connected as ${m.client_id}`;
      for (const el of [$('text'), $('send')]) el.disabled = false;
      loadRooms().then(() => {
        const first = $('rooms').querySelector('li');
        if (first) joinRoom(first.dataset.roomId, first.dataset.roomName);
      });
      break;
    case 'room_joined':
      state.room = m.room_id;
      line(`you joined ${esc(state.pending ? state.pending.name : m.room_id)}`, 'sys');
      send({ type: 'presence_list', room_id: m.room_id });
      loadRooms();
      break;
    case 'room_left':
      if (m.room_id === state.room) { state.room = null; state.members.clear(); renderMembers(); }
      break;
    case 'presence_state':
      if (m.room_id !== state.room) break;
      state.members = new Map(m.members.map((x) => [x.connection_id, x]));
      renderMembers();
      break;
    case 'presence':
      if (m.room_id !== state.room) break;
      if (m.event === 'join') { state.members.set(m.connection_id, m); line(`${esc(m.client_id)} joined`, 'sys'); }
      else { state.members.delete(m.connection_id); line(`${esc(m.client_id)} left`, 'sys'); }
      renderMembers();
      loadRooms();
      break;
    case 'room_message':
      if (m.room_id === state.room) line(`<span class="from">${esc(m.from_client_id || 'server')}</span>${esc(m.message)}`);
      break;
    case 'direct_message':
      line(`<span class="from">${esc(m.from_client_id || 'server')} → you</span>${esc(m.message)}`, 'dm');
      break;
    case 'message_blocked':
    case 'error':
      line(`not sent: ${esc(m.reason || m.error)}`, 'sys');
      break;
    case 'ping':
      send({ type: 'pong' });
      break;
    default:
      break;
  }
}

$('join-form').onsubmit = (ev) => {
  ev.preventDefault();
  const name = $('name').value.trim();
  if (state.ws) state.ws.close();
  state.me = name;
  state.room = null;
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const ws = new WebSocket(`${scheme}://${location.host}/chat?clientId=${encodeURIComponent(name)}`);
  state.ws = ws;
  ws.onmessage = (e) => onMessage(JSON.parse(e.data));
  ws.onclose = (e) => {
    if (state.ws !== ws) return;
    $('status').textContent = `disconnected (${e.code})`;
    for (const el of [$('text'), $('send')]) el.disabled = true;
  };
};

$('say').onsubmit = (ev) => {
  ev.preventDefault();
  const text = $('text').value;
  if (!text.trim()) return;
  const to = $('to').value;
  if (to) {
    send({ type: 'direct_message', target_client_id: to, message: text });
    line(`<span class="from">you → ${esc(to)}</span>${esc(text)}`, 'dm');
  } else if (state.room) {
    send({ type: 'room_message', room_id: state.room, message: text });
  }
  $('text').value = '';
};
