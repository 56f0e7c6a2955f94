// Removes a crashed incarnation's static member from a KIP-848 consumer group, so that
// the restarted instance (same group.instance.id) is not refused for a session.
//
// Why: under KIP-848 a static member that rejoins while its old membership is still
// alive is refused with UNRELEASED_INSTANCE_ID (fatal in librdkafka) until the broker
// ends that membership: group.consumer.session.timeout.ms after the old process's last
// heartbeat (45 s by default, 6 s here). A clean close releases it (a heartbeat with
// member epoch -2); a kill -9 cannot. The restarted instance waited out the rest of the
// session before any task ran: most of a restart's recovery time.
//
// How: the LeaveGroup API's administrative form (KIP-345), which names a member by its
// group.instance.id with an unknown member id. The group coordinator accepts it for
// consumer groups too (GroupMetadataManager.classicGroupLeaveToConsumerGroup: "The
// LeaveGroup API allows administrative removal of members by GroupInstanceId") and
// removes the member at once, as a session expiry would. Java's Admin calls it
// removeMembersFromConsumerGroup; librdkafka has no such call, so this speaks the two
// requests it needs (FindCoordinator v4, LeaveGroup v5) itself, over one connection
// each, with nothing kept open.
//
// Only the instance that owns the id may call this: a live member with the id is
// removed too (it rejoins and is refused in turn). The group consumer calls it once
// when it starts and once per run of replacements (src/engine/group-consumer.ts).
import { connect } from 'node:net';
import { EngineError } from '../errors.js';

/** Kafka's error codes this needs (org.apache.kafka.common.protocol.Errors). */
const ERR = {
  NONE: 0,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  UNKNOWN_MEMBER_ID: 25,
  GROUP_ID_NOT_FOUND: 69,
} as const;
const RETRIABLE = new Set<number>([ERR.COORDINATOR_LOAD_IN_PROGRESS, ERR.COORDINATOR_NOT_AVAILABLE, ERR.NOT_COORDINATOR]);

const API_FIND_COORDINATOR = 10;
const API_LEAVE_GROUP = 13;

export type StaticMemberRemoval = 'removed' | 'not a member';

export interface RemoveStaticMemberOptions {
  /** bootstrap.servers: host:port, comma-separated. */
  readonly brokers: string;
  readonly groupId: string;
  readonly instanceId: string;
  readonly clientId: string;
  /** The whole attempt, retries included. */
  readonly timeoutMs: number;
}

/**
 * Removes the group's static member with `instanceId`, if there is one. Resolves
 * 'not a member' when the group or the member does not exist; rejects when the
 * coordinator cannot be reached within the timeout.
 */
export async function removeStaticMember(options: RemoveStaticMemberOptions): Promise<StaticMemberRemoval> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(500, 50 * 2 ** attempt)));
    try {
      const coordinator = await findCoordinator(options, deadline);
      const code = await leaveGroup(coordinator, options, deadline);
      if (code === ERR.NONE) return 'removed';
      if (code === ERR.UNKNOWN_MEMBER_ID || code === ERR.GROUP_ID_NOT_FOUND) return 'not a member';
      lastError = new Error(`LeaveGroup answered error code ${code}`);
      if (!RETRIABLE.has(code)) break;
    } catch (err) {
      lastError = err;
    }
  }
  throw new EngineError('ORD_ERR_KAFKA', `removing the static member ${options.instanceId} from group ${options.groupId} failed: ${(lastError as Error | undefined)?.message ?? 'timed out'}`, {
    cause: lastError,
  });
}

interface Address {
  readonly host: string;
  readonly port: number;
}

function parseBrokers(brokers: string): Address[] {
  return brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0)
    .map((b) => {
      const i = b.lastIndexOf(':');
      return { host: b.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(b.slice(i + 1)) };
    });
}

async function findCoordinator(options: RemoveStaticMemberOptions, deadline: number): Promise<Address> {
  let lastError: unknown;
  for (const broker of parseBrokers(options.brokers)) {
    try {
      const body = new Writer().int8(0 /* group */).compactArray([options.groupId], (w, key) => w.compactString(key)).tags();
      const r = await request(broker, API_FIND_COORDINATOR, 4, options.clientId, body.bytes(), deadline);
      r.int32(); // throttle_time_ms
      const coordinators = r.compactArray(() => {
        r.compactString(); // key
        r.int32(); // node_id
        const host = r.compactString();
        const port = r.int32();
        const error = r.int16();
        r.compactNullableString(); // error_message
        r.skipTags();
        return { host, port, error };
      });
      const c = coordinators[0];
      if (c === undefined) throw new Error('FindCoordinator answered no coordinator');
      if (c.error !== ERR.NONE) throw new Error(`FindCoordinator answered error code ${c.error}`);
      return { host: c.host, port: c.port };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('no broker in bootstrap.servers');
}

/** The member's error code (the request's own when it has one). */
async function leaveGroup(coordinator: Address, options: RemoveStaticMemberOptions, deadline: number): Promise<number> {
  const body = new Writer()
    .compactString(options.groupId)
    .compactArray([options.instanceId], (w, instanceId) =>
      w
        .compactString('') // member id unknown: remove by instance id
        .compactNullableString(instanceId)
        .compactNullableString('a restarted instance releases its crashed predecessor')
        .tags(),
    )
    .tags();
  const r = await request(coordinator, API_LEAVE_GROUP, 5, options.clientId, body.bytes(), deadline);
  r.int32(); // throttle_time_ms
  const error = r.int16();
  if (error !== ERR.NONE) return error;
  const members = r.compactArray(() => {
    r.compactString(); // member_id
    r.compactNullableString(); // group_instance_id
    const code = r.int16();
    r.skipTags();
    return code;
  });
  return members[0] ?? ERR.UNKNOWN_MEMBER_ID;
}

/** One request on a fresh connection; returns a reader past the response header (v1: correlation id, tags). */
async function request(address: Address, apiKey: number, apiVersion: number, clientId: string, body: Buffer, deadline: number): Promise<Reader> {
  const correlationId = 1;
  const header = new Writer().int16(apiKey).int16(apiVersion).int32(correlationId).string(clientId).tags().bytes();
  const frame = Buffer.alloc(4);
  frame.writeInt32BE(header.length + body.length);
  const socket = connect({ host: address.host, port: address.port });
  try {
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${address.host}:${address.port} did not answer in time`)), Math.max(1, deadline - Date.now()));
      const chunks: Buffer[] = [];
      let length = 0;
      const done = (err: Error | undefined, value?: Buffer): void => {
        clearTimeout(timer);
        if (err !== undefined) reject(err);
        else resolve(value!);
      };
      socket.on('error', (err) => done(err));
      socket.on('close', () => done(new Error(`${address.host}:${address.port} closed the connection`)));
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length < 4) return;
        const all = Buffer.concat(chunks);
        const size = all.readInt32BE(0);
        if (all.length >= 4 + size) done(undefined, all.subarray(4, 4 + size));
      });
      socket.write(Buffer.concat([frame, header, body]));
    });
    const r = new Reader(response);
    if (r.int32() !== correlationId) throw new Error('response for another request');
    r.skipTags();
    return r;
  } finally {
    socket.destroy();
  }
}

function uvarintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
}

/** Kafka's wire types, as much of them as the two requests use. */
export class Writer {
  readonly #parts: Buffer[] = [];

  int8(v: number): this {
    const b = Buffer.alloc(1);
    b.writeInt8(v);
    return this.#push(b);
  }

  int16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    return this.#push(b);
  }

  int32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.#push(b);
  }

  uvarint(v: number): this {
    return this.#push(Buffer.from(uvarintBytes(v)));
  }

  /** STRING: int16 length (request header client_id). */
  string(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.int16(b.length).#push(b);
  }

  /** COMPACT_STRING: uvarint length + 1. */
  compactString(s: string): this {
    const b = Buffer.from(s, 'utf8');
    return this.uvarint(b.length + 1).#push(b);
  }

  compactNullableString(s: string | null): this {
    return s === null ? this.uvarint(0) : this.compactString(s);
  }

  compactArray<T>(items: readonly T[], each: (w: this, item: T) => unknown): this {
    this.uvarint(items.length + 1);
    for (const item of items) each(this, item);
    return this;
  }

  /** An empty tagged-field section. */
  tags(): this {
    return this.uvarint(0);
  }

  bytes(): Buffer {
    return Buffer.concat(this.#parts);
  }

  #push(b: Buffer): this {
    this.#parts.push(b);
    return this;
  }
}

export class Reader {
  readonly #buf: Buffer;
  #at = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  #need(n: number): void {
    if (this.#at + n > this.#buf.length) throw new Error('truncated response');
  }

  int16(): number {
    this.#need(2);
    const v = this.#buf.readInt16BE(this.#at);
    this.#at += 2;
    return v;
  }

  int32(): number {
    this.#need(4);
    const v = this.#buf.readInt32BE(this.#at);
    this.#at += 4;
    return v;
  }

  uvarint(): number {
    let v = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.#need(1);
      const b = this.#buf[this.#at++]!;
      v |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v >>> 0;
    }
    throw new Error('malformed varint');
  }

  compactNullableString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    this.#need(n - 1);
    const s = this.#buf.toString('utf8', this.#at, this.#at + n - 1);
    this.#at += n - 1;
    return s;
  }

  compactString(): string {
    const s = this.compactNullableString();
    if (s === null) throw new Error('null where a string was due');
    return s;
  }

  compactArray<T>(each: () => T): T[] {
    const n = this.uvarint();
    const out: T[] = [];
    for (let i = 0; i < n - 1; i++) out.push(each());
    return out;
  }

  /** Skips a tagged-field section. */
  skipTags(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint(); // tag
      const size = this.uvarint();
      this.#need(size);
      this.#at += size;
    }
  }
}
