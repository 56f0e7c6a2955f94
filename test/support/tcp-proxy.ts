// A loopback TCP proxy that a test can cut and heal: how a fault test partitions one
// service instance from Kafka while its Postgres and HTTP stay reachable.
//
// Why a proxy (and not network namespaces): the machine has `ip` and `unshare` but no
// iptables, and an instance moved into a namespace of its own would lose loopback
// Postgres and its HTTP port with it (each needs a veth pair, addresses outside
// loopback and forwarding back in), while a partition *from Kafka* is what the seed's
// failure table asks for. Kafka lets each client reach the cluster through a listener
// of its own: every broker of test/support/kafka-cluster.ts has one listener per
// instance slot whose advertised port is one of these proxies, so every connection
// that instance's librdkafka clients open (bootstrap, then each broker from the
// metadata) goes through the proxies of its slot, and nothing else does.
//
// A cut behaves like a partition, not like a refusal: bytes stop in both directions
// (the sockets are paused: nothing is read, so nothing is lost or forwarded, and no
// RST or FIN reaches either side); new connections are accepted by the kernel and
// then held silent. librdkafka sees requests time out, as on a real partition, and the
// group coordinator sees the member's heartbeats stop. A heal resets every connection
// that lived through the cut (a long partition leaves no TCP connection usable) and
// forwards new ones again.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

interface Pair {
  readonly client: Socket;
  /** Undefined while held (accepted during a cut). */
  upstream: Socket | undefined;
}

export class TcpProxy {
  readonly listenPort: number;
  readonly targetPort: number;
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #cut = false;
  /** Connections forwarded since the start (a check that traffic really goes through). */
  accepted = 0;

  private constructor(server: Server, listenPort: number, targetPort: number) {
    this.#server = server;
    this.listenPort = listenPort;
    this.targetPort = targetPort;
  }

  /** Listens on 127.0.0.1:`listenPort` and forwards each connection to 127.0.0.1:`targetPort`. */
  static async listen(listenPort: number, targetPort: number): Promise<TcpProxy> {
    const server = createServer({ pauseOnConnect: true });
    const proxy = new TcpProxy(server, listenPort, targetPort);
    server.on('connection', (client) => proxy.#accept(client));
    server.listen(listenPort, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  get connections(): number {
    return this.#pairs.size;
  }

  /** Stops every byte, both ways, on every connection, and holds new ones silent. */
  cut(): void {
    this.#cut = true;
    for (const { client, upstream } of this.#pairs) {
      client.pause();
      upstream?.pause();
    }
  }

  /** Resets the connections that lived through the cut; new ones are forwarded again. */
  heal(): void {
    if (!this.#cut) return;
    this.#cut = false;
    for (const pair of [...this.#pairs]) this.#drop(pair);
  }

  /**
   * Stops listening, so a connection is refused as the target's own port would refuse
   * it (its process is gone): accepting it and closing it at once would tell the client
   * something else (a broker closing the connection during its first request).
   */
  refuse(): void {
    // The listening socket closes at once; close()'s callback would wait for the connections too.
    if (this.#server.listening) this.#server.close();
  }

  /** Listens again after `refuse`. */
  async accept(): Promise<void> {
    if (this.#server.listening) return;
    this.#server.listen(this.listenPort, '127.0.0.1');
    await once(this.#server, 'listening');
  }

  /** Resets every connection and stops listening. */
  close(): void {
    for (const pair of [...this.#pairs]) this.#drop(pair);
    this.refuse();
  }

  #accept(client: Socket): void {
    const pair: Pair = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on('error', () => this.#drop(pair));
    // During a cut a close is not passed on (it would not cross a partition); the heal resets both sides.
    client.on('close', () => {
      if (!this.#cut) this.#drop(pair);
    });
    if (this.#cut) return; // held: paused, never connected upstream
    this.accepted++;
    const upstream = connect(this.targetPort, '127.0.0.1');
    pair.upstream = upstream;
    upstream.on('error', () => this.#drop(pair));
    upstream.on('close', () => {
      if (!this.#cut) this.#drop(pair);
    });
    upstream.once('connect', () => {
      if (this.#cut) return;
      this.#forward(client, upstream);
      this.#forward(upstream, client);
    });
  }

  /** Copies `from` to `to` with backpressure; a cut pauses `from`, so nothing is read meanwhile. */
  #forward(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!this.#cut) from.resume();
        });
      }
    });
    from.resume();
  }

  #drop(pair: Pair): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
