// Type tests for roomwire/client: this file must compile, and each @ts-expect-error line
// must be an error.
import { CloseCode, EventsClient, RoomwireClient, RoomwireClientError } from 'roomwire/client';
import type { RoomMessageFrame, RoomwireClientOptions, RejoinedEvent, WelcomeFrame } from 'roomwire/client';

const options: RoomwireClientOptions = {
  url: 'ws://127.0.0.1:3000/chat',
  clientId: 'alice',
  autoReconnect: true,
  reconnectAttempts: 5,
  reconnectDelay: 500,
  reconnectDelayMax: 10_000,
  finalCloseCodes: [CloseCode.POLICY_VIOLATION, 4001],
  pingInterval: 20_000,
  pongTimeout: 5000,
  handshakeTimeout: 5000,
  maxPayload: 1 << 20,
  offlineQueueSize: 50,
  headers: { authorization: 'Bearer x' },
  protocols: ['chat.v1'],
  onWelcome: (w) => console.log(w.connection_id),
  onRoomMessage: (m) => console.log(m.room_id, m.message, m.offset),
  onRejoined: (e) => console.log(e.recovered),
  onMessageBlocked: (b) => console.log(b.reason),
};
const client = new RoomwireClient(options);

async function use(): Promise<void> {
  const welcome: WelcomeFrame = await client.connect();
  console.log(welcome.client_id);
  const joined = await client.joinRoom('lobby', { name: 'Alice' });
  const offset: number | undefined = joined.offset;
  console.log(offset, joined.recovered);
  await client.leaveRoom('lobby');
  const sent: boolean = client.sendToRoom('lobby', 'hi');
  console.log(sent, client.sendDirectMessage('bob', 'psst'));
  await client.send({ type: 'custom', n: 1 });
  await client.send(new Uint8Array([1]));
  const members = await client.presenceList('lobby');
  console.log(members[0].client_id, client.latency, client.state);
  const off = client.on('room_message', (m: RoomMessageFrame) => console.log(m.epoch));
  off();
  client.on('rejoined', (e: RejoinedEvent) => console.log(e.room_id));
  client.on('error', (e) => console.log(e.code, e instanceof RoomwireClientError));
  client.on('state', (s) => console.log(s === 'reconnecting'));
  client.on('my_custom_frame', (f) => console.log(f.type));
  client.disconnect(CloseCode.NORMAL, 'bye');
}
void use;

// @ts-expect-error url is required
new RoomwireClient({ clientId: 'x' });
// @ts-expect-error reconnectDelay is a number
new RoomwireClient({ url: 'ws://x', reconnectDelay: '1s' });
// @ts-expect-error the room message handler gets a room message
new RoomwireClient({ url: 'ws://x', onRoomMessage: (m: number) => m });
// @ts-expect-error sendToRoom takes a string message
client.sendToRoom('lobby', { text: 'hi' });
// @ts-expect-error state events carry a state, not a frame
client.on('state', (s: { type: string }) => s);
// @ts-expect-error joinRoom resolves with the room_joined frame, not a boolean
const wrong: Promise<boolean> = client.joinRoom('lobby');
void wrong;

// The events protocol's client.
const events = new EventsClient({ url: 'ws://127.0.0.1:3000/rover', answerTimeout: 5000, onConnect: () => undefined });
const joinedTopic: Promise<void> = events.join('lobby', { name: 'ann' });
void joinedTopic;
const sent: boolean = events.emit('shout', { text: 'hi' });
void sent;
const offShout = events.on('shout', (payload, frame) => void [payload, frame.topic, frame.event]);
offShout();
events.on('left', (e) => void e.topic.toUpperCase());
events.on('rejoined', (e) => void e.error?.code);
events.on('server_error', (f) => void f.error_type.toUpperCase());
events.onEvent((name, payload) => void [name.toUpperCase(), payload]);
const topics: string[] = events.joinedTopics;
void topics;
// @ts-expect-error 'left' carries the topic, not a frame's payload and frame
events.on('left', (payload: number, frame: string) => void [payload, frame]);
// @ts-expect-error emit takes the event's name first
events.emit({ event: 'shout' });
// @ts-expect-error answerTimeout is a number
new EventsClient({ url: 'ws://x', answerTimeout: '5s' });
// @ts-expect-error an events client has no rooms API
events.joinRoom('lobby');
