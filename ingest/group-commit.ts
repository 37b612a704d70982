// Group commit (issue 14): the messages mqtt.js hands over in one event-loop turn wait in `group`
// (their PUBACKs held by platform/mqtt-session.ts); one setImmediate later they are spooled in one
// transaction and only then acknowledged. Bounded: mqtt.js hands over only what it parsed from the
// socket in this turn, and nothing more is read while the spool is full or a commit is failing
// (those messages wait in `blocked` without readNext(): backpressure into the broker's queue).
import type { IPublishPacket } from 'mqtt';
import type { Logger } from '../platform/logger.ts';
import type { MessageHandler } from '../platform/service-shell.ts';

export interface GroupCommitOptions {
  /** Runs `work` in one transaction; if it throws, nothing of it is kept. */
  transaction: (work: () => void) => void;
  /**
   * One message inside the transaction. What must not happen twice if it rolls back (metrics, logs,
   * MQTT publishes) goes to `afterCommit`; what must be undone then goes to `onRollback`.
   */
  accept: (packet: IPublishPacket, afterCommit: (() => void)[], onRollback: (() => void)[]) => void;
  /** Whether one more message fits, `pending` of them let in and not yet committed (at most one row each). */
  hasRoom: (pending: number) => boolean;
  /** After each committed group (wakes the drain). */
  committed?: () => void;
  /** Test hook: inside the transaction, after the INSERTs, before COMMIT. */
  beforeCommit?: (messagesInTransaction: number) => void;
  log: Logger;
  /** Pause before retrying a group whose transaction failed. */
  retryMs?: number;
}

export class GroupCommit {
  #group: { packet: IPublishPacket; ack: () => void }[] = [];
  #scheduled = false;
  #storageFailing = false;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;
  /** Messages not yet let in, while the spool is at its cap or storage fails. */
  readonly #blocked: (() => void)[] = [];

  constructor(private readonly opts: GroupCommitOptions) {}

  /** Messages let in and not yet committed. */
  get pending(): number {
    return this.#group.length;
  }

  /** The route handler: lets the message in (and asks for the next) when there is room. */
  readonly handle: MessageHandler = (packet, ack, readNext) => {
    const letIn = () => {
      this.#enqueue(packet, ack);
      readNext();
    };
    // Without readNext() mqtt.js hands over nothing more: the broker keeps the rest queued.
    if (!this.#storageFailing && this.opts.hasRoom(this.#group.length)) letIn();
    else this.#blocked.push(letIn);
  };

  /** Lets blocked messages in while there is room again (after the spool drained). */
  releaseBlocked(): void {
    while (this.#blocked.length > 0 && !this.#storageFailing && this.opts.hasRoom(this.#group.length)) this.#blocked.shift()?.();
  }

  /** Commits and acknowledges what this turn let in, then takes nothing more (unacknowledged messages stay at the broker). */
  close(): void {
    this.#commit();
    this.#closed = true;
    clearTimeout(this.#retryTimer);
  }

  #enqueue(packet: IPublishPacket, ack: () => void): void {
    this.#group.push({ packet, ack });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#commit());
    }
  }

  #commit(): void {
    this.#scheduled = false;
    if (this.#closed) return; // not acknowledged: the broker re-delivers them to the next session
    const messages = this.#group;
    this.#group = [];
    if (messages.length === 0) return;
    const afterCommit: (() => void)[] = [];
    const onRollback: (() => void)[] = [];
    try {
      this.opts.transaction(() => {
        for (const m of messages) this.opts.accept(m.packet, afterCommit, onRollback);
        this.opts.beforeCommit?.(messages.length);
      });
    } catch (err) {
      // Storage trouble (disk full…): nothing of the group is kept; keep it unacknowledged, take no
      // new message, and try again shortly.
      for (const undo of onRollback) undo();
      this.#storageFailing = true;
      this.opts.log.error({ err: err instanceof Error ? err.message : String(err), messages: messages.length }, 'could not spool messages; retrying');
      this.#retryTimer = setTimeout(() => {
        this.#group = [...messages, ...this.#group];
        this.#storageFailing = false;
        this.#commit();
        this.releaseBlocked();
      }, this.opts.retryMs ?? 1000);
      return;
    }
    for (const m of messages) m.ack();
    for (const effect of afterCommit) effect();
    this.opts.committed?.();
  }
}
