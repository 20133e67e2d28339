/**
 * A TCP proxy on 127.0.0.1 in front of a server, for the faults a network makes: every
 * connection reset at once, a link that goes silent (bytes swallowed both ways), refusing
 * new connections.
 */
import * as net from 'net';

export class FaultyLink {
  readonly port: Promise<number>;
  private readonly server: net.Server;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private readonly silent = new WeakSet<net.Socket>();
  private refusing = false;

  constructor(private target: number) {
    this.server = net.createServer((client) => {
      if (this.refusing) {
        client.resetAndDestroy();
        return;
      }
      const upstream = net.connect(this.target, '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [client, upstream];
      this.pairs.add(pair);
      const forward = (from: net.Socket, to: net.Socket) => from.on('data', (chunk) => {
        if (!this.silent.has(from)) to.write(chunk);
      });
      forward(client, upstream);
      forward(upstream, client);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      for (const s of pair) {
        s.on('error', end);
        s.on('close', end);
      }
    });
    this.port = new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port)));
  }

  /** New connections go to `port` from now on (a server that came back elsewhere). */
  retarget(port: number): void {
    this.target = port;
  }

  /** Resets every connection (RST both ways), as a dropped NAT entry or a crashed middlebox does. */
  resetAll(): void {
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** The connections open now go silent: their bytes go nowhere and nothing closes them. New ones work. */
  silenceAll(): void {
    for (const [a, b] of this.pairs) {
      this.silent.add(a);
      this.silent.add(b);
    }
  }

  /** New connections are reset at once while on. */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  get connections(): number {
    return this.pairs.size;
  }

  close(): Promise<void> {
    this.resetAll();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
