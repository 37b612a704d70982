// The alerts service's boards' API (`POST /api/ack`, `GET /api/alerts`): request and response bodies,
// defined once for the alerts service that serves them and the situation board that calls them.
import { z } from 'zod';
import { nodeIdSchema } from './payloads.ts';

/** How an acknowledgement reached the alerts service. `board` = a board member on the situation board. */
export const ACK_CHANNELS = ['link', 'modem', 'api', 'board'] as const;
export type AckChannel = (typeof ACK_CHANNELS)[number];

/** `POST /api/ack`. `channel` defaults to `api`; the situation board sends `board`. */
export const apiAckSchema = z
  .object({
    alertId: nodeIdSchema,
    by: z.string().min(1).max(100),
    channel: z.enum(['api', 'board']).default('api'),
  })
  .strict();
export type ApiAck = z.input<typeof apiAckSchema>;

export const apiAckResponseSchema = z.object({
  ok: z.literal(true),
  alreadyAcknowledged: z.boolean(),
  alert: z.object({ alertId: z.string(), status: z.string(), ack: z.object({ by: z.string(), at: z.number(), channel: z.string() }).nullable() }),
});

/** One SMS of an alert as the boards see it: who, which step, where it stands (no phone, no text). */
export const deliverySchema = z.object({
  recipientId: z.string(),
  /** initial | esc<n> | rep<n> | clear */
  step: z.string(),
  state: z.enum(['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'acknowledged', 'cancelled']),
  updatedAt: z.number(),
  errorCode: z.string().nullable(),
});
export type Delivery = z.infer<typeof deliverySchema>;

/** An alert in `GET /api/alerts` (fields the boards use; the service may send more). */
export const apiAlertSchema = z.object({
  alertId: z.string(),
  kind: z.enum(['fire-suspected', 'fire-confirmed', 'level-changed', 'node-offline', 'node-fault']),
  zoneId: z.string(),
  nodeId: z.string().nullable(),
  level: z.number().nullable(),
  eventTs: z.string(),
  eventIds: z.array(z.string()),
  routeIndex: z.number().int(),
  openedAt: z.number(),
  status: z.enum(['active', 'acknowledged', 'resolved']),
  notified: z.array(z.string()),
  stepsDone: z.number().int(),
  ack: z.object({ by: z.string(), at: z.number(), channel: z.string() }).nullable(),
  resolvedAt: z.number().nullable(),
  deliveries: z.array(deliverySchema),
});
export type ApiAlert = z.infer<typeof apiAlertSchema>;

export const apiAlertsResponseSchema = z.object({ alerts: z.array(apiAlertSchema) });
