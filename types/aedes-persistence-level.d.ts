// The package ships no types; this is the part of its async persistence we use.
declare module 'aedes-persistence-level/asyncPersistence.js' {
  import type { AbstractLevel } from 'abstract-level';
  export interface QueuedSubscription {
    clientId: string;
    topic?: string;
    qos?: number;
  }
  export interface PersistedPacket {
    topic: string;
    messageId?: number;
    brokerId?: string;
    brokerCounter?: number;
  }
  export default class AsyncLevelPersistence {
    constructor(db: AbstractLevel<string | Buffer, string, Buffer>);
    setup(broker: unknown): Promise<void>;
    outgoingEnqueue(sub: QueuedSubscription, packet: PersistedPacket): Promise<void>;
    outgoingEnqueueCombi(subs: QueuedSubscription[], packet: PersistedPacket): Promise<unknown>;
    outgoingClearMessageId(client: { id: string }, packet: { messageId?: number }): Promise<PersistedPacket | undefined>;
    outgoingUpdate(client: { id: string }, packet: PersistedPacket): Promise<void>;
    outgoingStream(client: { id: string }): import('node:stream').Readable;
    destroy(): Promise<void>;
  }
}
